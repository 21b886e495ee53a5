//! pcap (µs and ns) and pcapng readers: turn a capture file into link-layer frames with
//! their capture time. A damaged tail ends the list with a warning instead of failing,
//! because a capture cut short by a killed tcpdump is common and still useful.

/// Why bytes are not a capture at all (a damaged tail is only a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    pub what: String,
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a pcap or pcapng capture: {}", self.what)
    }
}

impl std::error::Error for CaptureError {}

/// One captured link-layer frame, borrowed from the capture bytes.
#[derive(Clone, Debug)]
pub struct CapturedFrame<'a> {
    /// 1-based position in the capture, as Wireshark numbers frames.
    pub index: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The LINKTYPE_* value of the interface the frame was captured on.
    pub link_type: u32,
    pub data: &'a [u8],
}

/// All frames of a capture plus, when its end was damaged, why reading stopped early.
#[derive(Debug, Default)]
pub struct Capture<'a> {
    pub frames: Vec<CapturedFrame<'a>>,
    pub warning: Option<String>,
}

const PCAP_MICROS: u32 = 0xa1b2_c3d4;
const PCAP_NANOS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BYTE_ORDER: u32 = 0x1a2b_3c4d;

/// Reads either format, chosen by the file's magic number, into a list of frames.
pub fn read_capture(bytes: &[u8]) -> Result<Capture<'_>, CaptureError> {
    let mut frames = Vec::new();
    let warning = for_each_frame(bytes, |f| frames.push(f))?;
    Ok(Capture { frames, warning })
}

/// Hands every frame to `f` in capture order without collecting them; returns the
/// warning for a damaged tail, if any.
pub fn for_each_frame<'a>(
    bytes: &'a [u8],
    f: impl FnMut(CapturedFrame<'a>),
) -> Result<Option<String>, CaptureError> {
    let magic = bytes
        .get(0..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .ok_or_else(|| not_capture("the file is shorter than a capture header"))?;
    if magic == PCAPNG_SHB {
        read_pcapng(bytes, f)
    } else if [PCAP_MICROS, PCAP_NANOS].contains(&magic)
        || [PCAP_MICROS, PCAP_NANOS].contains(&magic.swap_bytes())
    {
        read_pcap(bytes, f)
    } else {
        Err(not_capture(&format!("unknown magic number {magic:#010x}")))
    }
}

fn not_capture(what: &str) -> CaptureError {
    CaptureError {
        what: what.to_string(),
    }
}

/// Endian-aware integer reads at fixed offsets; `None` past the end.
#[derive(Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let s: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big {
            u64::from_be_bytes(s)
        } else {
            u64::from_le_bytes(s)
        })
    }
}

fn read_pcap<'a>(
    bytes: &'a [u8],
    mut f: impl FnMut(CapturedFrame<'a>),
) -> Result<Option<String>, CaptureError> {
    let header = bytes
        .get(..24)
        .ok_or_else(|| not_capture("the pcap header is cut short"))?;
    let le_magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let endian = Endian {
        big: ![PCAP_MICROS, PCAP_NANOS].contains(&le_magic),
    };
    let magic = endian.u32(header, 0).unwrap_or(0);
    let frac_per_sec: u64 = if magic == PCAP_NANOS {
        1_000_000_000
    } else {
        1_000_000
    };
    // The upper bits of the link type field carry FCS information, not the type.
    let link_type = endian.u32(header, 20).unwrap_or(0) & 0x0fff_ffff;
    let mut frames: u64 = 0;
    let mut pos = 24;
    while pos < bytes.len() {
        let record = (|| {
            let secs = u64::from(endian.u32(bytes, pos)?);
            let frac = u64::from(endian.u32(bytes, pos + 4)?);
            let incl = endian.u32(bytes, pos + 8)? as usize;
            let data = bytes.get(pos + 16..(pos + 16).checked_add(incl)?)?;
            Some((
                secs * 1_000_000_000 + frac * (1_000_000_000 / frac_per_sec),
                data,
            ))
        })();
        let Some((time_ns, data)) = record else {
            return Ok(Some(truncated_warning(frames)));
        };
        frames += 1;
        f(CapturedFrame {
            index: frames,
            time_ns,
            link_type,
            data,
        });
        pos += 16 + data.len();
    }
    Ok(None)
}

fn truncated_warning(frames: u64) -> String {
    format!("the capture is truncated: its last record is cut short or damaged, so only the first {frames} frames were read")
}

/// Per-interface facts pcapng packet blocks refer to.
#[derive(Clone, Copy)]
struct Interface {
    link_type: u32,
    /// Timestamp units per second.
    ticks_per_sec: u64,
    offset_secs: u64,
}

struct Section {
    endian: Endian,
    interfaces: Vec<Interface>,
}

fn read_pcapng<'a>(
    bytes: &'a [u8],
    mut f: impl FnMut(CapturedFrame<'a>),
) -> Result<Option<String>, CaptureError> {
    let mut section: Option<Section> = None;
    let mut packet_blocks: u64 = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        let Some((block_type, body, total)) = next_block(bytes, pos, section.as_ref()) else {
            if section.is_none() {
                return Err(not_capture("the pcapng section header is damaged"));
            }
            return Ok(Some(truncated_warning(packet_blocks)));
        };
        pos += total;
        if block_type == PCAPNG_SHB {
            section = Some(Section {
                endian: section_endian(body),
                interfaces: Vec::new(),
            });
            continue;
        }
        let Some(sec) = section.as_mut() else { break };
        match block_type {
            1 => sec.interfaces.push(parse_interface(sec.endian, body)),
            2 | 3 | 6 => {
                // Every packet block is a frame, as Wireshark numbers them, even one
                // that cannot be read (unknown interface): it then carries no data.
                packet_blocks += 1;
                let (time_ns, link_type, data) =
                    parse_packet_block(sec, block_type, body).unwrap_or((0, u32::MAX, &[]));
                f(CapturedFrame {
                    index: packet_blocks,
                    time_ns,
                    link_type,
                    data,
                });
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Returns (type, body, total length) of the block at `pos`.
fn next_block<'a>(
    bytes: &'a [u8],
    pos: usize,
    section: Option<&Section>,
) -> Option<(u32, &'a [u8], usize)> {
    let le = Endian { big: false };
    let raw_type = le.u32(bytes, pos)?;
    let endian = if raw_type == PCAPNG_SHB {
        section_endian(bytes.get(pos + 8..)?)
    } else {
        section?.endian
    };
    let total = endian.u32(bytes, pos + 4)? as usize;
    if total < 12 || !total.is_multiple_of(4) {
        return None;
    }
    let block = bytes.get(pos..pos.checked_add(total)?)?;
    let block_type = endian.u32(block, 0)?;
    Some((block_type, &block[8..total - 4], total))
}

fn section_endian(shb_body: &[u8]) -> Endian {
    let little = Endian { big: false };
    Endian {
        big: little.u32(shb_body, 0) != Some(PCAPNG_BYTE_ORDER),
    }
}

fn parse_interface(endian: Endian, body: &[u8]) -> Interface {
    let mut iface = Interface {
        link_type: u32::from(endian.u16(body, 0).unwrap_or(0)),
        ticks_per_sec: 1_000_000,
        offset_secs: 0,
    };
    let mut at = 8;
    while let (Some(code), Some(len)) = (endian.u16(body, at), endian.u16(body, at + 2)) {
        let value_at = at + 4;
        match (code, len) {
            (0, _) => break,
            (9, 1) => {
                let res = body.get(value_at).copied().unwrap_or(6);
                let exp = u32::from(res & 0x7f);
                let ticks = if res & 0x80 == 0 {
                    10u64.checked_pow(exp)
                } else {
                    2u64.checked_pow(exp)
                };
                iface.ticks_per_sec = ticks.unwrap_or(1_000_000).max(1);
            }
            (14, 8) => iface.offset_secs = endian.u64(body, value_at).unwrap_or(0),
            _ => {}
        }
        at = value_at + usize::from(len).div_ceil(4) * 4;
    }
    iface
}

fn parse_packet_block<'a>(
    sec: &Section,
    block_type: u32,
    body: &'a [u8],
) -> Option<(u64, u32, &'a [u8])> {
    let e = sec.endian;
    let (iface_id, ts, data) = match block_type {
        6 => {
            let ts = (u64::from(e.u32(body, 4)?) << 32) | u64::from(e.u32(body, 8)?);
            let caplen = e.u32(body, 12)? as usize;
            (e.u32(body, 0)? as usize, ts, body.get(20..20 + caplen)?)
        }
        2 => {
            let ts = (u64::from(e.u32(body, 4)?) << 32) | u64::from(e.u32(body, 8)?);
            let caplen = e.u32(body, 12)? as usize;
            (usize::from(e.u16(body, 0)?), ts, body.get(20..20 + caplen)?)
        }
        _ => {
            // Simple packet block: no timestamp; the data runs to the end of the body
            // (minus alignment padding), bounded by the original length.
            let orig = e.u32(body, 0)? as usize;
            let data = body.get(4..)?;
            (0, 0, &data[..orig.min(data.len())])
        }
    };
    let iface = sec.interfaces.get(iface_id)?;
    let ticks = u128::from(ts);
    let ns = ticks * 1_000_000_000 / u128::from(iface.ticks_per_sec);
    let time_ns = u64::try_from(ns)
        .unwrap_or(u64::MAX)
        .saturating_add(iface.offset_secs.saturating_mul(1_000_000_000));
    Some((time_ns, iface.link_type, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: u32) -> Vec<u8> {
        let mut v = magic.to_le_bytes().to_vec();
        v.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]);
        v
    }

    fn pcap_record(secs: u32, frac: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [secs, frac, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn pcap_nanosecond_times() {
        let mut file = pcap_header(PCAP_NANOS);
        file.extend(pcap_record(10, 5, &[1, 2, 3]));
        let cap = read_capture(&file).unwrap();
        assert_eq!(cap.frames.len(), 1);
        assert_eq!(cap.frames[0].time_ns, 10_000_000_005);
        assert_eq!(cap.frames[0].data, &[1, 2, 3]);
        assert!(cap.warning.is_none());
    }

    #[test]
    fn pcap_truncated_tail_keeps_earlier_frames() {
        let mut file = pcap_header(PCAP_MICROS);
        file.extend(pcap_record(1, 2, &[9; 10]));
        let second = pcap_record(3, 4, &[8; 10]);
        file.extend_from_slice(&second[..20]);
        let cap = read_capture(&file).unwrap();
        assert_eq!(cap.frames.len(), 1);
        assert_eq!(cap.frames[0].time_ns, 1_000_002_000);
        assert!(cap.warning.unwrap().contains("truncated"));
    }

    fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
        let total = (12 + body.len()) as u32;
        let mut v = block_type.to_le_bytes().to_vec();
        v.extend_from_slice(&total.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&total.to_le_bytes());
        v
    }

    fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for x in [
            iface,
            (ts >> 32) as u32,
            ts as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            body.extend_from_slice(&x.to_le_bytes());
        }
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        block(6, &body)
    }

    #[test]
    fn pcapng_resolution_option_and_unknown_interface() {
        let mut shb = PCAPNG_BYTE_ORDER.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let mut file = block(PCAPNG_SHB, &shb);
        // Interface 0: Ethernet, if_tsresol = 10^-9.
        file.extend(block(
            1,
            &[1, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0],
        ));
        file.extend(epb(0, 1_500_000_000_123_456_789, &[1, 2, 3]));
        file.extend(epb(7, 5, &[4]));
        file.extend(epb(0, 1_500_000_000_123_456_790, &[5, 6]));
        let cap = read_capture(&file).unwrap();
        assert_eq!(cap.frames.len(), 3);
        assert_eq!(cap.frames[0].time_ns, 1_500_000_000_123_456_789);
        assert_eq!(cap.frames[0].data, &[1, 2, 3]);
        assert!(cap.frames[1].data.is_empty());
        assert_eq!(cap.frames[2].index, 3);
        assert!(cap.warning.is_none());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read_capture(b"hello world, no capture here").is_err());
        assert!(read_capture(b"ab").is_err());
    }
}
