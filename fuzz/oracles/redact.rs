//! The check of the `redact` fuzz target: the streaming redactor of `creds run --redact`, fed
//! in chunks cut wherever the fuzzer likes, writes exactly what one greedy pass over the whole
//! output writes (leftmost match, longest value first), and no value ever reaches its output.
//! Included (`#[path]`) by `fuzz/fuzz_targets/redact.rs` and by the normal test suite, beside
//! the CLI's `redact.rs` as the includer's `crate::redact`.
#![allow(dead_code)]

/// The fuzzer's input: values, program output, and where the output is cut into reads.
pub(crate) type Input = (Vec<Vec<u8>>, Vec<u8>, Vec<u8>);

/// Values and output use a five-letter alphabet so that values overlap, nest and prefix each
/// other often; none of its letters occurs in a replacement (`[REDACTED:V0]`).
pub(crate) fn small(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b"abcde"[usize::from(b % 5)]).collect()
}

/// The reference: one pass over the whole output.
pub(crate) fn one_pass(values: &[(String, Vec<u8>)], text: &[u8]) -> Vec<u8> {
    let mut sorted: Vec<&(String, Vec<u8>)> =
        values.iter().filter(|(_, v)| !v.is_empty()).collect();
    sorted.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match sorted.iter().find(|(_, v)| text[i..].starts_with(v)) {
            Some((name, v)) => {
                out.extend_from_slice(format!("[REDACTED:{name}]").as_bytes());
                i += v.len();
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// Runs one input.
pub(crate) fn check(input: Input) {
    let (raw_values, raw_text, cuts) = input;
    let values: Vec<(String, Vec<u8>)> = raw_values
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, v)| (format!("V{i}"), small(&v[..v.len().min(12)])))
        .collect();
    let text = small(&raw_text);

    let mut redactor = crate::redact::Redactor::new(&values);
    let mut streamed = Vec::new();
    let mut rest = &text[..];
    for cut in cuts {
        let n = usize::from(cut).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        streamed.extend(redactor.feed(chunk));
        rest = tail;
    }
    streamed.extend(redactor.feed(rest));
    streamed.extend(redactor.finish());

    assert_eq!(
        streamed,
        one_pass(&values, &text),
        "streamed output differs from one pass"
    );
    for (_, v) in values.iter().filter(|(_, v)| !v.is_empty()) {
        assert!(
            !streamed.windows(v.len()).any(|w| w == v.as_slice()),
            "a value reached the output"
        );
    }
}
