//! `creds run --redact`: replaces every secret value in the program's output with
//! `[REDACTED:NAME]`, also when a value arrives split across reads.

/// A streaming replacer of byte patterns.
pub(crate) struct Redactor {
    patterns: Vec<(Vec<u8>, Vec<u8>)>,
    carry: Vec<u8>,
}

impl Redactor {
    /// Patterns are (value, variable name); empty values are ignored, longer values win.
    pub(crate) fn new(values: &[(String, Vec<u8>)]) -> Self {
        let mut patterns: Vec<(Vec<u8>, Vec<u8>)> = values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| (v.clone(), format!("[REDACTED:{name}]").into_bytes()))
            .collect();
        patterns.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        Redactor {
            patterns,
            carry: Vec::new(),
        }
    }

    /// Feeds a chunk; returns what can be written now. Bytes that may start a value are held
    /// back until the next chunk shows whether they do.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        'scan: while i < buf.len() {
            let rest = &buf[i..];
            for (value, replacement) in &self.patterns {
                if rest.starts_with(value) {
                    out.extend_from_slice(replacement);
                    i += value.len();
                    continue 'scan;
                }
            }
            if self
                .patterns
                .iter()
                .any(|(value, _)| rest.len() < value.len() && value.starts_with(rest))
            {
                self.carry = rest.to_vec();
                break;
            }
            out.push(buf[i]);
            i += 1;
        }
        zeroize::Zeroize::zeroize(&mut buf);
        out
    }

    /// The bytes held back at the end of the stream (no value can complete any more).
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.carry)
    }
}

impl Drop for Redactor {
    fn drop(&mut self) {
        for (v, _) in &mut self.patterns {
            zeroize::Zeroize::zeroize(v);
        }
        zeroize::Zeroize::zeroize(&mut self.carry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[(&str, &str)], chunks: &[&str]) -> String {
        let values: Vec<(String, Vec<u8>)> = values
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        let mut r = Redactor::new(&values);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(r.feed(c.as_bytes()));
        }
        out.extend(r.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn replaces_values_whole_and_split() {
        assert_eq!(run(&[("K", "s3cret")], &["a s3cret b"]), "a [REDACTED:K] b");
        assert_eq!(
            run(&[("K", "s3cret")], &["a s3", "cr", "et b"]),
            "a [REDACTED:K] b"
        );
        assert_eq!(
            run(&[("K", "s3cret")], &["s", "3", "c", "r", "e", "t"]),
            "[REDACTED:K]"
        );
        assert_eq!(run(&[("K", "s3cret")], &["s3c", "x s3cre"]), "s3cx s3cre");
        assert_eq!(
            run(&[("A", "ab"), ("B", "abc")], &["xabcx ab"]),
            "x[REDACTED:B]x [REDACTED:A]"
        );
        assert_eq!(run(&[("E", "")], &["nothing"]), "nothing");
        assert_eq!(run(&[("K", "aab")], &["aaab"]), "a[REDACTED:K]");
    }
}
