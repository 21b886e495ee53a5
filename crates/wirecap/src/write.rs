//! pcap trace files (nanosecond timestamps, Ethernet link type). Records are
//! buffered whole and written with single `write` calls, so a file cut off at
//! any moment (even by SIGKILL) still ends on a record boundary.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Magic number of the nanosecond-resolution pcap format.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
use crate::link::LINKTYPE_ETHERNET;
pub const SNAPLEN: u32 = 262_144;
/// Buffered bytes that trigger a write even before the periodic flush.
const FLUSH_THRESHOLD: usize = 1 << 20;

/// Writes one pcap file.
pub struct PcapWriter<W: Write> {
    out: W,
    buffer: Vec<u8>,
    records: u64,
}

impl PcapWriter<File> {
    /// Creates (truncates) the file at `path` and writes the file header.
    pub fn create(path: &Path) -> std::io::Result<PcapWriter<File>> {
        PcapWriter::new(File::create(path)?)
    }
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<PcapWriter<W>> {
        let mut header: Vec<u8> = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        out.flush()?;
        Ok(PcapWriter {
            out,
            buffer: Vec::with_capacity(FLUSH_THRESHOLD + 65_536),
            records: 0,
        })
    }

    /// Adds one frame captured at `unix_nanos` (wall clock).
    pub fn record(&mut self, unix_nanos: u64, frame: &[u8]) -> std::io::Result<()> {
        let captured: usize = frame.len().min(SNAPLEN as usize);
        self.buffer
            .extend_from_slice(&((unix_nanos / 1_000_000_000) as u32).to_le_bytes());
        self.buffer
            .extend_from_slice(&((unix_nanos % 1_000_000_000) as u32).to_le_bytes());
        self.buffer
            .extend_from_slice(&(captured as u32).to_le_bytes());
        self.buffer
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buffer.extend_from_slice(&frame[..captured]);
        self.records += 1;
        if self.buffer.len() >= FLUSH_THRESHOLD {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything buffered so far.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        self.out.flush()
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn has_pending(&self) -> bool {
        !self.buffer.is_empty()
    }

    #[cfg(test)]
    fn into_inner(mut self) -> W {
        let _ = self.flush();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_records_follow_the_pcap_format() {
        let mut writer: PcapWriter<Vec<u8>> = PcapWriter::new(Vec::new()).unwrap();
        writer
            .record(1_700_000_000_123_456_789, &[0xaa; 60])
            .unwrap();
        writer
            .record(1_700_000_001_000_000_001, &[0xbb; 14])
            .unwrap();
        assert_eq!(writer.records(), 2);
        let bytes: Vec<u8> = writer.into_inner();
        assert_eq!(&bytes[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(
            u32::from_le_bytes(bytes[16..20].try_into().unwrap()),
            SNAPLEN
        );
        assert_eq!(u32::from_le_bytes(bytes[20..24].try_into().unwrap()), 1);
        let rec: &[u8] = &bytes[24..];
        assert_eq!(
            u32::from_le_bytes(rec[0..4].try_into().unwrap()),
            1_700_000_000
        );
        assert_eq!(
            u32::from_le_bytes(rec[4..8].try_into().unwrap()),
            123_456_789
        );
        assert_eq!(u32::from_le_bytes(rec[8..12].try_into().unwrap()), 60);
        assert_eq!(u32::from_le_bytes(rec[12..16].try_into().unwrap()), 60);
        assert_eq!(bytes.len(), 24 + 16 + 60 + 16 + 14);
    }

    #[test]
    fn nothing_reaches_the_file_before_a_flush_except_whole_records() {
        let mut writer: PcapWriter<Vec<u8>> = PcapWriter::new(Vec::new()).unwrap();
        writer.record(0, &[1; 100]).unwrap();
        assert!(writer.has_pending());
        writer.flush().unwrap();
        assert!(!writer.has_pending());
        assert_eq!(writer.into_inner().len(), 24 + 16 + 100);
    }
}
