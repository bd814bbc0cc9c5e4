//! The one place that knows the YAML parser. Everything else asks for a typed value
//! or a located error, so the parser can be swapped without touching the rest.

use serde::de::DeserializeOwned;

/// A YAML problem, located relative to the start of the YAML text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e| {
        let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let mut message = e.to_string();
        // serde_yaml appends " at line L column C"; the location is reported separately.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        // Errors raised by a value's own parser (dates, say) are reported at the
        // enclosing mapping; the value quoted in the message finds its real line.
        let quoted = message.split('\'').nth(1).filter(|q| !q.is_empty());
        if let Some((l, c)) = quoted.and_then(|q| {
            text.lines()
                .enumerate()
                .skip(line.saturating_sub(1))
                .find_map(|(i, t)| t.find(q).map(|c| (i + 1, c + 1)))
        }) {
            return YamlError {
                line: l,
                col: c,
                message,
            };
        }
        YamlError { line, col, message }
    })
}

/// The top-level keys of a YAML mapping with the 1-based line each starts on,
/// in document order. Used to report every unknown key at once, before the typed parse.
pub fn top_level_keys(text: &str) -> Result<Vec<(String, usize)>, YamlError> {
    let value: serde_yaml::Value = from_str(text)?;
    let map = match value {
        serde_yaml::Value::Mapping(m) => m,
        serde_yaml::Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(YamlError {
                line: 1,
                col: 1,
                message: "front-matter must be a mapping of `key: value` lines".into(),
            })
        }
    };
    let mut keys = Vec::new();
    for (k, _) in map {
        let key = match k {
            serde_yaml::Value::String(s) => s,
            other => serde_yaml::to_string(&other)
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        let line = text
            .lines()
            .position(|l| {
                l.strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or(0, |i| i + 1);
        keys.push((key, line));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_carries_location_without_suffix() {
        let e = from_str::<std::collections::BTreeMap<String, u32>>("a: 1\nb: x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(!e.message.contains("at line"), "{}", e.message);
    }

    #[test]
    fn lists_keys_with_lines() {
        let keys = top_level_keys("id: A\n# c\ntitle: B\nlist:\n  - x\n").unwrap();
        assert_eq!(
            keys,
            vec![("id".into(), 1), ("title".into(), 3), ("list".into(), 4)]
        );
    }
}
