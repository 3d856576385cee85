//! Reading a large FeatureCollection a block at a time, so that its load
//! does not hold the whole file in memory and the reading overlaps the
//! parsing.
//!
//! A second thread reads the file in 1 MiB blocks and cuts them after the
//! last whole feature of the `features` array (a scan of brackets and
//! strings, not a parse); the loading thread parses each feature as it
//! comes. Only the common shape streams: an object whose members before
//! `"features": [` hold no array of their own (type, name, crs, ...),
//! whose features are objects, and that ends right after the array. Any
//! other file, and any file with an error, is read whole by the caller,
//! which then reports errors exactly as before (line and column of the
//! whole file).

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Small enough that freeing a block does not raise glibc's dynamic mmap
/// threshold far (8 MiB blocks did: a later 8 MiB upload then stayed in
/// the heap, resident, and `scripts/memory.py` saw 4.1 times its size).
const BLOCK: usize = 1 << 20;
/// How far into the file the `features` array must start.
const PREFIX_LIMIT: usize = 64 << 20;

/// Whole features, as byte ranges of `bytes`.
pub(super) struct Batch {
    pub bytes: Vec<u8>,
    pub ranges: Vec<(usize, usize)>,
    pub end: End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// More batches follow.
    More,
    /// The array and the object ended as expected.
    Done,
    /// Not the shape that streams, or not valid: read the file whole.
    GiveUp,
}

/// Reads from `file` up to the `[` of the top-level `features` array:
/// the bytes read (the prefix is `bytes[..at]`), or `None` when the file
/// does not start that way.
pub(super) fn prefix(file: &mut impl Read) -> Option<(Vec<u8>, usize)> {
    let mut bytes = Vec::with_capacity(BLOCK);
    let mut scanned = 0;
    let mut scan = PrefixScan::default();
    loop {
        if let Some(at) = scan.feed(&bytes[scanned..]).map(|a| a + scanned) {
            return (at != usize::MAX).then_some((bytes, at));
        }
        scanned = bytes.len();
        if bytes.len() > PREFIX_LIMIT || !fill(file, &mut bytes) {
            return None;
        }
    }
}

/// Appends up to a block; false at the end of the file or on an error.
fn fill(file: &mut impl Read, bytes: &mut Vec<u8>) -> bool {
    let start = bytes.len();
    bytes.resize(start + BLOCK, 0);
    let mut got = 0;
    while got < BLOCK {
        match file.read(&mut bytes[start + got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                bytes.truncate(start);
                return false;
            }
        }
    }
    bytes.truncate(start + got);
    got > 0
}

/// The scan of the top-level object up to `"features": [`.
#[derive(Default)]
struct PrefixScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The last string closed at depth 1, and whether a `:` followed it.
    key: Vec<u8>,
    collecting: bool,
    after_colon: bool,
    started: bool,
}

impl PrefixScan {
    /// Scans more bytes: `Some(i)` with the index just after the `[`,
    /// `Some(usize::MAX)` when the file cannot stream, `None` for more.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.collecting = false;
                    continue;
                }
                if self.collecting {
                    self.key.push(b);
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 && !self.after_colon {
                        self.key.clear();
                        self.collecting = true;
                    }
                }
                b':' if self.depth == 1 => self.after_colon = true,
                b',' if self.depth == 1 => self.after_colon = false,
                b'{' => {
                    if !self.started {
                        self.started = true;
                    }
                    self.depth += 1;
                }
                b'[' if self.depth == 1 && self.after_colon && self.key == b"features" => return Some(i + 1),
                // Arrays before the features (a bbox) are fine, nested
                // objects too (crs); the end of the object is not.
                b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(usize::MAX);
                    }
                }
                _ if !self.started => return Some(usize::MAX),
                _ => {}
            }
        }
        None
    }
}

/// Where the object starting at `bytes[0]` (a `{`) ends (index after its
/// `}`), or `None` when `bytes` stops inside it.
fn object_end(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string: to the next quote not escaped.
                i += 1;
                loop {
                    let rest = bytes.get(i..)?;
                    let j = rest.iter().position(|&c| c == b'"' || c == b'\\')?;
                    i += j;
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else {
                        break;
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The reading thread: sends the features after the prefix in batches,
/// then how the array ended. Stops when the receiver is gone.
pub(super) fn read_features(mut file: impl Read, mut pending: Vec<u8>, tx: SyncSender<Batch>) {
    // Between features: expect `,` or `]` (`]` also before the first).
    let mut expect_separator = false;
    let mut first = true;
    let mut eof = false;
    loop {
        let mut ranges = Vec::new();
        let mut pos = 0;
        let mut end = End::More;
        loop {
            while pos < pending.len() && pending[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let Some(&b) = pending.get(pos) else { break };
            if expect_separator || first {
                if b == b']' {
                    end = End::Done;
                    pos += 1;
                    break;
                }
                if expect_separator {
                    if b != b',' {
                        end = End::GiveUp;
                        break;
                    }
                    pos += 1;
                    expect_separator = false;
                    continue;
                }
            }
            if b != b'{' {
                end = End::GiveUp;
                break;
            }
            match object_end(&pending[pos..]) {
                Some(len) => {
                    ranges.push((pos, pos + len));
                    pos += len;
                    expect_separator = true;
                    first = false;
                }
                None => break,
            }
        }
        if end == End::Done {
            // The object must end right after the array.
            let mut rest = pending.split_off(pos);
            while !eof {
                eof = !fill(&mut file, &mut rest);
            }
            let mut tail = rest.iter().filter(|b| !b.is_ascii_whitespace());
            if !(tail.next() == Some(&b'}') && tail.next().is_none()) {
                end = End::GiveUp;
            }
        }
        if eof && end == End::More {
            end = End::GiveUp;
        }
        let leftover = if end == End::More { pending.split_off(pos) } else { Vec::new() };
        let batch = Batch { bytes: std::mem::replace(&mut pending, leftover), ranges, end };
        if tx.send(batch).is_err() || end != End::More {
            return;
        }
        eof = !fill(&mut file, &mut pending);
    }
}

/// A channel of batches (a few blocks in flight).
pub(super) fn channel() -> (SyncSender<Batch>, Receiver<Batch>) {
    sync_channel(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, block: usize) -> (Vec<String>, End) {
        let (mut file, _) = (text.as_bytes(), ());
        let (bytes, at) = prefix(&mut file).expect("streams");
        let (tx, rx) = channel();
        let rest = bytes[at..].to_vec();
        let _ = block;
        std::thread::scope(|s| {
            s.spawn(move || read_features(file, rest, tx));
            let mut out = Vec::new();
            let mut end = End::More;
            for b in rx {
                out.extend(b.ranges.iter().map(|&(x, y)| String::from_utf8(b.bytes[x..y].to_vec()).unwrap()));
                end = b.end;
            }
            (out, end)
        })
    }

    #[test]
    fn features_are_cut_whole_with_strings_holding_brackets_and_escapes() {
        let text = r#"{"type":"FeatureCollection","name":"a [b] {c}","bbox":[0,1,2,3],
        "features": [ {"type":"Feature","properties":{"n":"x\"}]{"},"geometry":null} ,
        {"type":"Feature","properties":{"k":[1,{"z":2}]},"geometry":{"type":"Point","coordinates":[1,2]}}
        ] }"#;
        let (features, end) = split(text, 0);
        assert_eq!(end, End::Done);
        assert_eq!(features.len(), 2);
        assert!(features[0].ends_with("\"geometry\":null}"), "{}", features[0]);
        assert!(features[1].starts_with("{\"type\":\"Feature\",\"properties\":{\"k\""));
    }

    #[test]
    fn other_shapes_give_up() {
        // A member after the array, a null feature, a missing comma, a cut file.
        for text in [
            r#"{"type":"FeatureCollection","features":[{"a":1}],"bbox":[0,0,1,1]}"#,
            r#"{"type":"FeatureCollection","features":[null]}"#,
            r#"{"type":"FeatureCollection","features":[{"a":1} {"a":2}]}"#,
            r#"{"type":"FeatureCollection","features":[{"a":1},{"a":"#,
        ] {
            assert_eq!(split(text, 0).1, End::GiveUp, "{text}");
        }
        // No features array at the top: not streamed at all.
        assert!(prefix(&mut &br#"{"type":"Feature","geometry":null}"#[..]).is_none());
        assert!(prefix(&mut &br#"[1,2]"#[..]).is_none());
        let (f, end) = split(r#"{"features" : [ ] }"#, 0);
        assert!(f.is_empty() && end == End::Done);
    }
}
