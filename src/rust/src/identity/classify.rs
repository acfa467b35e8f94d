//! Column classification of datom-cv1 (dev/spec/FORMATS.md 3.2) and the advice given
//! for unsupported columns (dev/spec/API.md `datom_check_hashable`).

/// What the binding layer knows about an R column before encoding it.
#[derive(Clone, Debug, Default)]
pub struct ColumnShape<'a> {
    /// `class` attribute (empty when the column is unclassed).
    pub class: &'a [String],
    /// R `typeof()`.
    pub rtype: &'a str,
    /// A list column whose elements are all data frames.
    pub list_of_frames: bool,
    /// The column has a `units` attribute (difftime).
    pub has_units: bool,
}

/// The kinds of dev/spec/FORMATS.md 3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    I64,
    Factor,
    Date,
    Time,
    Duration,
    ITime,
    Num,
    Chr,
}

/// Outcome of classifying one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// Supported; `stripped` says the column was labelled and must be read as
    /// its attribute-free underlying vector (rule 7).
    Ok { kind: Kind, stripped: bool },
    /// Unsupported, with the advice to show.
    Unsupported { advice: String },
}

fn has(class: &[String], c: &str) -> bool {
    class.iter().any(|x| x == c)
}

const SUPPORTED: &str = "logical, integer, double, character, factor, Date, POSIXct, difftime/hms, \
bit64::integer64, data.table IDate/ITime, or labelled vectors of these";

/// Classify a column per the ordered rules of dev/spec/FORMATS.md 3.2.
pub fn classify(shape: &ColumnShape<'_>) -> Classified {
    let cls = shape.class;
    if !cls.is_empty() {
        if has(cls, "haven_labelled") || has(cls, "labelled") || has(cls, "labelled_spss") {
            // Rule 7, applied before rules 1-6: the bare vector decides.
            return match classify_bare(shape.rtype) {
                Some(kind) => Classified::Ok { kind, stripped: true },
                None => Classified::Unsupported { advice: advice(shape) },
            };
        }
        let kind = if has(cls, "integer64") {
            Some(Kind::I64)
        } else if has(cls, "factor") {
            Some(Kind::Factor)
        } else if has(cls, "Date") {
            Some(Kind::Date)
        } else if has(cls, "POSIXct") {
            Some(Kind::Time)
        } else if has(cls, "difftime") {
            Some(Kind::Duration)
        } else if has(cls, "ITime") {
            Some(Kind::ITime)
        } else {
            None
        };
        return match kind {
            // The storage must be what the encoder reads.
            Some(Kind::I64) if shape.rtype != "double" => Classified::Unsupported { advice: advice(shape) },
            Some(Kind::Factor) if shape.rtype != "integer" => Classified::Unsupported { advice: advice(shape) },
            Some(Kind::Date | Kind::Time | Kind::Duration | Kind::ITime)
                if !matches!(shape.rtype, "double" | "integer" | "logical") =>
            {
                Classified::Unsupported { advice: advice(shape) }
            }
            Some(Kind::Duration) if !shape.has_units => Classified::Unsupported {
                advice: "a difftime without a units attribute cannot be hashed; set units(x) (e.g. \"secs\")".to_string(),
            },
            Some(kind) => Classified::Ok { kind, stripped: false },
            None => Classified::Unsupported { advice: advice(shape) },
        };
    }
    match classify_bare(shape.rtype) {
        Some(kind) => Classified::Ok { kind, stripped: false },
        None => Classified::Unsupported { advice: advice(shape) },
    }
}

fn classify_bare(rtype: &str) -> Option<Kind> {
    match rtype {
        "logical" | "integer" | "double" => Some(Kind::Num),
        "character" => Some(Kind::Chr),
        _ => None,
    }
}

/// The recourse for an unsupported column, chosen in the order of dev/spec/API.md.
pub fn advice(shape: &ColumnShape<'_>) -> String {
    let cls = shape.class;
    if has(cls, "POSIXlt") {
        "convert to POSIXct with as.POSIXct()".into()
    } else if has(cls, "sfc") {
        "convert the geometry to WKT text (e.g. sf::st_as_text())".into()
    } else if shape.rtype == "list" && shape.list_of_frames {
        "model the inner table as its own datom table linked by a key (record it with datom_parent() lineage) or unnest it".into()
    } else if shape.rtype == "list" && cls.is_empty() {
        "flatten to one value per row, or serialise each element to character (e.g. JSON)".into()
    } else if has(cls, "units") {
        "drop the unit and record it in the column name or a companion column".into()
    } else if has(cls, "yearmon") || has(cls, "yearqtr") || has(cls, "chron") || has(cls, "dates") || has(cls, "times") {
        "convert to Date/POSIXct or ISO-8601 text".into()
    } else if shape.rtype == "complex" {
        "split into real and imaginary numeric columns, or convert to character".into()
    } else if shape.rtype == "raw" {
        "encode the bytes as character (e.g. base64)".into()
    } else if shape.rtype == "list" {
        "flatten to one value per row, or serialise each element to character (e.g. JSON)".into()
    } else {
        format!("convert to a supported type ({SUPPORTED})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rules_in_order() {
        let k = |cls: &[&str], t: &str| {
            let cls = c(cls);
            classify(&ColumnShape { class: &cls, rtype: t, list_of_frames: false, has_units: true })
        };
        assert_eq!(k(&[], "double"), Classified::Ok { kind: Kind::Num, stripped: false });
        assert_eq!(k(&[], "logical"), Classified::Ok { kind: Kind::Num, stripped: false });
        assert_eq!(k(&[], "character"), Classified::Ok { kind: Kind::Chr, stripped: false });
        assert_eq!(k(&["integer64"], "double"), Classified::Ok { kind: Kind::I64, stripped: false });
        assert_eq!(k(&["ordered", "factor"], "integer"), Classified::Ok { kind: Kind::Factor, stripped: false });
        assert_eq!(k(&["IDate", "Date"], "integer"), Classified::Ok { kind: Kind::Date, stripped: false });
        assert_eq!(k(&["POSIXct", "POSIXt"], "double"), Classified::Ok { kind: Kind::Time, stripped: false });
        assert_eq!(k(&["hms", "difftime"], "double"), Classified::Ok { kind: Kind::Duration, stripped: false });
        assert_eq!(k(&["ITime"], "integer"), Classified::Ok { kind: Kind::ITime, stripped: false });
        assert_eq!(
            k(&["haven_labelled", "vctrs_vctr", "double"], "double"),
            Classified::Ok { kind: Kind::Num, stripped: true }
        );
        assert!(matches!(k(&["AsIs"], "double"), Classified::Unsupported { .. }));
        assert!(matches!(k(&[], "list"), Classified::Unsupported { .. }));
        assert!(matches!(k(&[], "complex"), Classified::Unsupported { .. }));
    }

    #[test]
    fn advice_categories() {
        let a = |cls: &[&str], t: &str, lof: bool| {
            let cls = c(cls);
            advice(&ColumnShape { class: &cls, rtype: t, list_of_frames: lof, has_units: false })
        };
        assert!(a(&["POSIXlt", "POSIXt"], "list", false).contains("POSIXct"));
        assert!(a(&["sfc_POINT", "sfc"], "list", false).contains("WKT"));
        assert!(a(&[], "list", true).contains("unnest"));
        assert!(a(&[], "list", false).contains("serialise"));
        assert!(a(&["units"], "double", false).contains("unit"));
        assert!(a(&["yearmon"], "double", false).contains("ISO-8601"));
        assert!(a(&[], "complex", false).contains("imaginary"));
        assert!(a(&[], "raw", false).contains("base64"));
        assert!(a(&["AsIs"], "double", false).contains("supported type"));
    }
}
