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
        let out = self.scan(&buf, false);
        zeroize::Zeroize::zeroize(&mut buf);
        out
    }

    /// The bytes held back at the end of the stream, redacted: no value can complete any more,
    /// but a shorter one may be whole among them.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.carry);
        let out = self.scan(&buf, true);
        zeroize::Zeroize::zeroize(&mut buf);
        out
    }

    /// Replaces values in `buf`, longest first. Unless `last`, the scan stops where the rest
    /// of `buf` could still grow into a value *longer* than any that matches there, and keeps
    /// that rest in `carry`: replacing a shorter value that is a prefix of a longer one would
    /// write the longer value's tail once it completes.
    fn scan(&mut self, buf: &[u8], last: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        'scan: while i < buf.len() {
            let rest = &buf[i..];
            // Longest first, so a value that may still complete is seen before a shorter one
            // that matches now.
            for (value, replacement) in &self.patterns {
                if rest.starts_with(value) {
                    out.extend_from_slice(replacement);
                    i += value.len();
                    continue 'scan;
                }
                if !last && rest.len() < value.len() && value.starts_with(rest) {
                    self.carry = rest.to_vec();
                    break 'scan;
                }
            }
            out.push(buf[i]);
            i += 1;
        }
        out
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

    /// A shorter value that is a prefix of a longer one must not be replaced while the longer
    /// one may still complete in the next read: that wrote the longer value's tail.
    #[test]
    fn a_longer_value_split_after_a_shorter_prefix() {
        let values = [("SHORT", "ab"), ("LONG", "abcd")];
        assert_eq!(run(&values, &["abc", "d"]), "[REDACTED:LONG]");
        assert_eq!(run(&values, &["ab", "cd"]), "[REDACTED:LONG]");
        assert_eq!(run(&values, &["ab", "c", "x"]), "[REDACTED:SHORT]cx");
        assert_eq!(run(&values, &["abc"]), "[REDACTED:SHORT]c");
        // At the end of the stream, bytes held back for a longer value are still redacted:
        // "abc" may start "abcde", and holds "bc" whole.
        let inner = [("INNER", "bc"), ("LONG", "abcde")];
        assert_eq!(run(&inner, &["abc"]), "a[REDACTED:INNER]");
        assert_eq!(run(&inner, &["ab", "c", "x"]), "a[REDACTED:INNER]x");
    }

    /// The `redact` fuzz target's check (`fuzz/oracles/redact.rs`) on every committed input
    /// (`fuzz/seeds/redact/`, `fuzz/regressions/redact/`, decoded as libFuzzer's `arbitrary`
    /// decodes them) and on the shapes fuzzing found wrong before.
    #[test]
    fn fuzz_inputs_and_regressions() {
        use crate::redact_oracle::check;
        let ab = |s: &str| s.as_bytes().to_vec();
        // `small` maps bytes to a..e by `b % 5`: a=0 b=1 c=2 d=3 e=4.
        let letters = |s: &str| s.bytes().map(|b| b - b'a').collect::<Vec<u8>>();
        check((
            vec![letters("ab"), letters("abcd")],
            letters("abcd"),
            vec![3],
        ));
        check((
            vec![letters("ab"), letters("abcd")],
            letters("abcx"),
            vec![2, 1],
        ));
        check((
            vec![letters("bc"), letters("abcde")],
            letters("abc"),
            vec![],
        ));
        check((vec![ab(""), letters("a")], letters("aaaa"), vec![1, 1, 1]));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut files = 0;
        for dir in ["seeds/redact", "regressions/redact"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let input =
                    arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&data));
                if let Ok(input) = input {
                    check(input);
                    files += 1;
                }
            }
        }
        assert!(
            files > 0,
            "no committed inputs decoded under {}",
            root.display()
        );
    }
}
