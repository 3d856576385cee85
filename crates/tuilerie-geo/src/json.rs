//! JSON bytes written by hand on the hot paths (GeoJSON answers, property
//! values): strings copied as they are when nothing needs escaping, numbers
//! as serde_json writes them. A leaf: no other module of the crate.

/// Writes `s` as a JSON string: copied as is when nothing needs escaping
/// (the usual case), through serde_json otherwise.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `b` holds a byte JSON escapes (a control character, `"` or
/// `\\`), eight bytes at a time (exact tests for a byte below 0x20 or equal
/// to a value, from "Bit Twiddling Hacks").
pub(crate) fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        if (x.wrapping_sub(ONES * 0x20) & !x & HIGHS)
            | zero_byte(x ^ (ONES * b'"' as u64))
            | zero_byte(x ^ (ONES * b'\\' as u64))
            != 0
        {
            return true;
        }
    }
    chunks.remainder().iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// `name` as a JSON object key, colon included.
pub(crate) fn json_key(name: &str) -> Box<[u8]> {
    let mut k = Vec::with_capacity(name.len() + 3);
    push_str(&mut k, name);
    k.push(b':');
    k.into_boxed_slice()
}

/// `x` as serde_json writes it (`null` unless finite): zmij's shortest
/// form, called directly rather than through serde_json's writer.
pub(crate) fn push_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(x).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

pub(crate) fn push_i64(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// `x` rounded to one decimal, written as serde_json writes that rounded
/// value (`12.5`, `3.0`, `-0.4`; but `0.0` rather than `-0.0`), without
/// the general float formatting.
pub(crate) fn push_tenths(out: &mut Vec<u8>, x: f64) {
    let t = (x * 10.0).round();
    if !t.is_finite() || t.abs() >= 1e15 {
        return push_f64(out, t / 10.0);
    }
    let t = t as i64;
    if t < 0 {
        out.push(b'-');
    }
    let (whole, tenth) = (t.unsigned_abs() / 10, t.unsigned_abs() % 10);
    // itoa, as serde_json itself, without its writer's overhead (half of
    // the 150 instructions a distance took).
    out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
    out.extend_from_slice(&[b'.', b'0' + tenth as u8]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_detection_equals_a_byte_by_byte_test() {
        let mut seed = 9u64;
        let alphabet = b"ab \"\\\x01\x1f\x7f\xc3\xa9\x20\x21\x5b\x5d\x5c\x22";
        for n in 0..20_000 {
            let len = n % 40;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = crate::testdata::lcg(&mut seed);
                    if r < 0.9 {
                        b'a' + (r * 26.0 / 0.9) as u8
                    } else {
                        alphabet[((r - 0.9) * 10.0 * alphabet.len() as f64) as usize % alphabet.len()]
                    }
                })
                .collect();
            let expect = bytes.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
            assert_eq!(needs_escape(&bytes), expect, "{bytes:?}");
        }
        for c in 0..=255u8 {
            for pos in 0..16 {
                let mut b = vec![b'x'; 16];
                b[pos] = c;
                assert_eq!(needs_escape(&b), c < 0x20 || c == b'"' || c == b'\\', "{c} at {pos}");
            }
        }
    }

    #[test]
    fn tenths_are_written_as_serde_json_writes_the_rounded_value_without_negative_zero() {
        let mut seed = 3u64;
        for i in 0..100_000 {
            let r = crate::testdata::lcg(&mut seed);
            let x = match i % 4 {
                0 => (r - 0.5) * 400.0,
                1 => r * 2.0e7,
                2 => (r * 3600.0).round() / 10.0,
                _ => (r - 0.5) * 1e-3,
            };
            let mut ours = Vec::new();
            push_tenths(&mut ours, x);
            // (+ 0.0: a negative zero is written 0.0)
            let reference = serde_json::to_string(&((x * 10.0).round() / 10.0 + 0.0)).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), reference, "{x}");
        }
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        let mut seed = 5u64;
        let mut specials = vec![0.0, -0.0, 1.0, -1.5, 1e21, 1e-7, 123456789.125, f64::MAX, f64::MIN_POSITIVE, 5e-324];
        specials.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        let random = (0..100_000).map(|i| {
            let r = crate::testdata::lcg(&mut seed);
            match i % 3 {
                0 => (r - 0.5) * 360.0,
                1 => r * 1e7,
                _ => f64::from_bits((r * u64::MAX as f64) as u64),
            }
        });
        for x in specials.into_iter().chain(random) {
            let mut ours = Vec::new();
            push_f64(&mut ours, x);
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&x).unwrap(), "{x:e}");
        }
        for i in [0, 7, -7, i64::MAX, i64::MIN, 1_000_000_007] {
            let mut ours = Vec::new();
            push_i64(&mut ours, i);
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&i).unwrap());
        }
    }
}
