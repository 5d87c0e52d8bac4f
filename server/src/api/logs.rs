//! Task logs, read in bounded pieces: a task may write hundreds of megabytes, so a log is never
//! read whole into memory.
//!
//! - `GET /api/runs/{id}/tasks/{path}/logs` streams the file as the body, [`CHUNK`] bytes at a
//!   time, up to the length it had when the request came (a growing log does not keep the
//!   answer open).
//! - Where a read starts ([`Start`]): a byte offset (`?offset=N`), or the tail (`?tail=N`): at
//!   most the last `N` bytes, starting after the first line break in them so that the first
//!   line is whole (when the last line alone is longer than `N`, it is cut).
//! - The run's event stream follows a log with a [`LogReader`]: pieces of at most [`CHUNK`]
//!   bytes, cut where the file ends at the moment of the read (not at line ends: the client
//!   joins them, so a line longer than a piece arrives in pieces), never inside a UTF-8
//!   character.

use std::io::SeekFrom;
use std::path::Path;

use axum::body::{Body, Bytes};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The most bytes read (and sent) at once.
pub const CHUNK: usize = 64 * 1024;

/// Where a read of a log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At this byte offset.
    Offset(u64),
    /// At most this many bytes before the end, at the start of a line.
    Tail(u64),
}

impl Default for Start {
    fn default() -> Self {
        Self::Offset(0)
    }
}

/// Opens a log and finds where `from` starts in it: the file (positioned there), the offset and
/// the file's length now. `Ok(None)`: the file does not exist (yet).
async fn open_at(path: &Path, from: Start) -> std::io::Result<Option<(File, u64, u64)>> {
    let mut file = match File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata().await?.len();
    let start = match from {
        Start::Offset(n) => n.min(len),
        Start::Tail(n) => {
            let cut = len.saturating_sub(n);
            if cut == 0 {
                0
            } else {
                // The byte before the cut too: a cut right after a line break keeps that line.
                let window_start = cut - 1;
                file.seek(SeekFrom::Start(window_start)).await?;
                // A line break that ends the file does not count: the tail would be empty.
                let want = usize::try_from(len - 1 - window_start)
                    .unwrap_or(CHUNK)
                    .min(CHUNK);
                let mut window = vec![0u8; want];
                let got = read_full(&mut file, &mut window).await?;
                match window[..got].iter().position(|b| *b == b'\n') {
                    Some(i) => window_start.saturating_add(i as u64).saturating_add(1),
                    None => cut,
                }
            }
        }
    };
    file.seek(SeekFrom::Start(start)).await?;
    Ok(Some((file, start, len)))
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
async fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]).await? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The answer to `GET …/logs`: the log from `from` to its current end as a streamed body, and
/// the offset it starts at. A missing file is an empty log.
pub async fn body(path: Option<&Path>, from: Start) -> std::io::Result<(Body, u64)> {
    let Some(path) = path else {
        return Ok((Body::empty(), 0));
    };
    let Some((file, start, len)) = open_at(path, from).await? else {
        return Ok((Body::empty(), 0));
    };
    let stream = futures_util::stream::try_unfold(
        (file, len.saturating_sub(start)),
        |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            let mut buf = vec![0u8; want];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                // The file was truncated under us: what is there has been sent.
                return Ok(None);
            }
            buf.truncate(n);
            Ok::<_, std::io::Error>(Some((
                Bytes::from(buf),
                (file, left.saturating_sub(n as u64)),
            )))
        },
    );
    Ok((Body::from_stream(stream), start))
}

/// A piece of a followed log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The byte offset of its first byte in the file.
    pub from: u64,
    /// The offset right after it: where the next piece starts.
    pub to: u64,
    /// Its text (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
}

/// Reads a log that may still be growing, piece by piece (see the module docs).
#[derive(Debug)]
pub struct LogReader {
    file: File,
    /// The next byte to read.
    offset: u64,
    /// The start of a UTF-8 character whose other bytes have not been written yet (< 4 bytes),
    /// at `offset - carry.len()`.
    carry: Vec<u8>,
}

impl LogReader {
    /// Opens the log at `from`; `Ok(None)` when it does not exist (yet).
    pub async fn open(path: &Path, from: Start) -> std::io::Result<Option<Self>> {
        Ok(open_at(path, from).await?.map(|(file, offset, _)| Self {
            file,
            offset,
            carry: Vec::new(),
        }))
    }

    /// Where the next piece starts.
    pub fn offset(&self) -> u64 {
        self.offset.saturating_sub(self.carry.len() as u64)
    }

    /// The next piece, or `None` when nothing more has been written yet.
    pub async fn next(&mut self) -> std::io::Result<Option<Piece>> {
        let from = self.offset();
        let mut buf = std::mem::take(&mut self.carry);
        let kept = buf.len();
        buf.resize(CHUNK, 0);
        let n = self.file.read(&mut buf[kept..]).await?;
        self.offset = self.offset.saturating_add(n as u64);
        buf.truncate(kept + n);
        if n == 0 {
            self.carry = buf;
            return Ok(None);
        }
        let whole = complete_prefix(&buf);
        self.carry = buf.split_off(whole);
        if buf.is_empty() {
            return Ok(None);
        }
        Ok(Some(Piece {
            from,
            to: from.saturating_add(buf.len() as u64),
            text: String::from_utf8_lossy(&buf).into_owned(),
        }))
    }

    /// What is left when the log is complete: the bytes of an unfinished character, if any.
    pub fn finish(&mut self) -> Option<Piece> {
        if self.carry.is_empty() {
            return None;
        }
        let from = self.offset();
        let rest = std::mem::take(&mut self.carry);
        Some(Piece {
            from,
            to: self.offset,
            text: String::from_utf8_lossy(&rest).into_owned(),
        })
    }
}

/// How much of `b` to send now: all of it, unless it ends inside a UTF-8 character (whose
/// remaining bytes may still be written), which is kept for the next piece.
fn complete_prefix(b: &[u8]) -> usize {
    let n = b.len();
    for back in 1..=n.min(4) {
        let i = n - back;
        let c = b[i];
        if c & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead byte
        }
        let need = match c {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if back < need { i } else { n };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_characters_are_sent() {
        // (bytes, how many are sent now)
        let cases: &[(&[u8], usize)] = &[
            (b"", 0),
            (b"abc", 3),
            ("é".as_bytes(), 2),
            (&"é".as_bytes()[..1], 0),
            (&"aé".as_bytes()[..2], 1),
            (&"a€".as_bytes()[..3], 1),
            ("a€".as_bytes(), 4),
            (&"a😀".as_bytes()[..4], 1),
            ("a😀".as_bytes(), 5),
            // Invalid bytes are not held back (they become U+FFFD).
            (b"a\xff", 2),
            (b"\x80\x80\x80\x80\x80", 5),
        ];
        for (bytes, want) in cases {
            assert_eq!(complete_prefix(bytes), *want, "{bytes:?}");
        }
    }

    async fn write(dir: &Path, text: &[u8]) -> std::path::PathBuf {
        let p = dir.join("log.txt");
        tokio::fs::write(&p, text).await.expect("write log");
        p
    }

    async fn read_all(path: &Path, from: Start) -> (u64, Vec<u8>) {
        let (body, start) = body(Some(path), from).await.expect("body");
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("bytes");
        (start, bytes.to_vec())
    }

    #[tokio::test]
    async fn the_tail_starts_at_a_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(dir.path(), b"one\ntwo\nthree\n").await;
        // (tail bytes, start offset, text)
        let cases: &[(u64, u64, &str)] = &[
            (100, 0, "one\ntwo\nthree\n"),
            (14, 0, "one\ntwo\nthree\n"),
            (13, 4, "two\nthree\n"),
            (10, 4, "two\nthree\n"),
            (9, 8, "three\n"),
            (6, 8, "three\n"),
            (3, 11, "ee\n"), // no line break before the end: cut inside the line
            (0, 14, ""),
        ];
        for (n, start, text) in cases {
            let (s, got) = read_all(&p, Start::Tail(*n)).await;
            assert_eq!(
                (s, String::from_utf8_lossy(&got).as_ref()),
                (*start, *text),
                "tail={n}"
            );
        }
        let (s, got) = read_all(&p, Start::Offset(8)).await;
        assert_eq!((s, got.as_slice()), (8, b"three\n".as_slice()));
        let (s, got) = read_all(&p, Start::Offset(99)).await;
        assert_eq!((s, got.as_slice()), (14, b"".as_slice()));
        let (s, got) = read_all(&dir.path().join("missing"), Start::Tail(5)).await;
        assert_eq!((s, got.as_slice()), (0, b"".as_slice()));
    }

    #[tokio::test]
    async fn a_big_log_streams_in_bounded_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let p = write(dir.path(), &text).await;
        let (body, _) = body(Some(&p), Start::Offset(0)).await.expect("body");
        let mut frames = 0;
        let mut got = Vec::new();
        let mut stream = body.into_data_stream();
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            let chunk = chunk.expect("chunk");
            assert!(chunk.len() <= CHUNK);
            got.extend_from_slice(&chunk);
            frames += 1;
        }
        assert_eq!(got, text);
        assert!(frames >= text.len() / CHUNK, "{frames} frames");
    }

    async fn append(w: &mut File, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        w.write_all(bytes).await.expect("write");
        w.flush().await.expect("flush");
    }

    #[tokio::test]
    async fn a_reader_follows_a_growing_log_without_splitting_characters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(dir.path(), b"").await;
        let mut w = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .await
            .expect("open for append");
        let mut r = LogReader::open(&p, Start::Offset(0))
            .await
            .expect("open")
            .expect("exists");
        assert_eq!(r.next().await.expect("read"), None);
        let euro = "€".as_bytes();
        append(&mut w, b"a").await;
        append(&mut w, &euro[..1]).await;
        let p1 = r.next().await.expect("read").expect("a piece");
        assert_eq!((p1.from, p1.to, p1.text.as_str()), (0, 1, "a"));
        assert_eq!(
            r.next().await.expect("read"),
            None,
            "half a character waits"
        );
        append(&mut w, &euro[1..]).await;
        append(&mut w, b"\nb").await;
        let p2 = r.next().await.expect("read").expect("a piece");
        assert_eq!((p2.from, p2.to, p2.text.as_str()), (1, 6, "€\nb"));
        // A line longer than a piece arrives in pieces of at most CHUNK bytes.
        let long = vec![b'x'; CHUNK * 2 + 10];
        append(&mut w, &long).await;
        let mut pieces = Vec::new();
        while let Some(piece) = r.next().await.expect("read") {
            pieces.push(piece);
        }
        assert!(pieces.len() >= 3 && pieces.iter().all(|p| p.text.len() <= CHUNK));
        let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined.len(), long.len());
        assert_eq!(pieces.last().map(|p| p.to), Some(6 + long.len() as u64));
        // An unfinished character at the very end comes out when the log is complete.
        append(&mut w, &euro[..2]).await;
        assert_eq!(r.next().await.expect("read"), None);
        let rest = r.finish().expect("the rest");
        assert_eq!(rest.text, "\u{FFFD}");
        assert_eq!(rest.to - rest.from, 2);
        assert_eq!(r.finish(), None);
    }
}
