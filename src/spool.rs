//! Spools: a reply's large file (an export) written gzip-compressed to a private
//! temporary file instead of memory, so memory does not grow with the file
//! (RELIABILITY.md R7), and uploaded from there.
//!
//! The file is created readable by its owner only (0600) and without a name on
//! disk (O_TMPFILE where the system has it, else unlinked at once): the system
//! deletes it when the spool is dropped, or when Keel stops however it stops,
//! so no copy of a community's data is left behind (R9).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Writes a spool: what is written is compressed into the temporary file. With a
/// limit, a write that takes the compressed file past it fails with
/// [`io::ErrorKind::FileTooLarge`], so an export too large to upload stops early
/// instead of filling the disk.
pub struct SpoolWriter {
    encoder: GzEncoder<Counted<BufWriter<File>>>,
}

/// Counts what reaches the file, and refuses to pass the limit.
struct Counted<W> {
    inner: W,
    written: u64,
    limit: Option<u64>,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(limit) = self.limit
            && self.written + buf.len() as u64 > limit
        {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("the file passed {limit} bytes"),
            ));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Big enough that writes reach the file in few system calls.
const BUFFER: usize = 256 * 1024;

impl SpoolWriter {
    /// A new spool in the system's temporary directory (`TMPDIR`), holding at most
    /// `limit` compressed bytes.
    pub fn new(limit: Option<u64>) -> io::Result<SpoolWriter> {
        let file = tempfile::tempfile()?;
        Ok(SpoolWriter {
            // The default level: exports of a million rows compress about tenfold
            // in seconds; the best level costs several times the CPU for a few
            // percent less.
            encoder: GzEncoder::new(
                Counted {
                    inner: BufWriter::with_capacity(BUFFER, file),
                    written: 0,
                    limit,
                },
                Compression::default(),
            ),
        })
    }

    /// Completes the gzip stream and hands the file over for reading.
    pub fn finish(self) -> io::Result<Spool> {
        let counted = self.encoder.finish()?;
        let file = counted.inner.into_inner().map_err(|e| e.into_error())?;
        Ok(Spool {
            file: Mutex::new(file),
            len: counted.written,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encoder.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

/// A finished spool: a gzip file, read from any offset, as often as needed (an
/// upload retried after a rate limit starts again from the beginning).
#[derive(Debug)]
pub struct Spool {
    /// Reads seek first, so one reader at a time.
    file: Mutex<File>,
    len: u64,
}

impl Spool {
    /// A spool of `bytes` (already compressed or not: they are stored as given).
    #[cfg(test)]
    fn of(bytes: &[u8]) -> io::Result<Spool> {
        let mut file = tempfile::tempfile()?;
        file.write_all(bytes)?;
        Ok(Spool {
            file: Mutex::new(file),
            len: bytes.len() as u64,
        })
    }

    /// The size of the compressed file, as uploaded.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads compressed bytes from `offset` into `buf`; 0 at the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(offset))?;
        file.read(buf)
    }

    /// The compressed file, whole, in memory: for platforms whose client takes
    /// only bytes (Discord), where the platform's upload limit bounds it.
    pub fn compressed(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.reader().read_to_end(&mut out)?;
        Ok(out)
    }

    /// Decompresses the file into `out`; returns the bytes written.
    pub fn decompress_into(&self, out: &mut impl Write) -> io::Result<u64> {
        io::copy(&mut GzDecoder::new(self.reader()), out)
    }

    /// Up to `max` decompressed bytes from the start; the bool says whether that
    /// is all of it.
    pub fn decompressed_start(&self, max: usize) -> io::Result<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        GzDecoder::new(self.reader())
            .take(max as u64 + 1)
            .read_to_end(&mut out)?;
        let whole = out.len() <= max;
        out.truncate(max);
        Ok((out, whole))
    }

    fn reader(&self) -> SpoolReader<'_> {
        SpoolReader {
            spool: self,
            offset: 0,
        }
    }
}

/// Reads a spool from the start, sequentially.
struct SpoolReader<'a> {
    spool: &'a Spool,
    offset: u64,
}

impl Read for SpoolReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.spool.read_at(self.offset, buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_holds_what_was_written_compressed() {
        let mut writer = SpoolWriter::new(None).unwrap();
        let line = b"id,member,day,description\n";
        for _ in 0..10_000 {
            writer.write_all(line).unwrap();
        }
        let spool = writer.finish().unwrap();
        assert!(
            spool.len() < (line.len() * 10_000 / 20) as u64,
            "compressed"
        );
        let gz = spool.compressed().unwrap();
        assert_eq!(gz.len() as u64, spool.len());
        assert_eq!(gz[..2], [0x1f, 0x8b], "gzip");
        let mut plain = Vec::new();
        assert_eq!(
            spool.decompress_into(&mut plain).unwrap(),
            (line.len() * 10_000) as u64
        );
        assert!(plain.chunks(line.len()).all(|l| l == line));
        // Read twice: from the start each time.
        let (start, whole) = spool.decompressed_start(line.len()).unwrap();
        assert_eq!((start.as_slice(), whole), (&line[..], false));
        assert_eq!(spool.compressed().unwrap(), gz);
    }

    #[test]
    fn a_spool_past_its_limit_stops_writing() {
        let mut writer = SpoolWriter::new(Some(1000)).unwrap();
        let mut noise = 1u64;
        let failed = (0..100_000).find_map(|_| {
            // Incompressible bytes, so the compressed file grows.
            noise = noise.wrapping_mul(6364136223846793005).wrapping_add(1);
            writer.write_all(&noise.to_le_bytes()).err()
        });
        assert_eq!(failed.map(|e| e.kind()), Some(io::ErrorKind::FileTooLarge));
    }

    #[test]
    fn short_contents_are_whole() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"small").unwrap();
        let spool = Spool::of(&gz.finish().unwrap()).unwrap();
        assert_eq!(
            spool.decompressed_start(100).unwrap(),
            (b"small".to_vec(), true)
        );
        assert!(!spool.is_empty());
    }
}
