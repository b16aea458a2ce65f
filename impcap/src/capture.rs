//! Capture sources (pcap file or live interface) and the per-packet message.

use crate::decode::{decode_packet, hex_upper, Dialect};
use crate::time::rfc3339_utc_micros;
use crate::{Instance, Settings};
use rsyslog_ffi::json::JsonSink;
use rsyslog_ffi::module::InputThread;
use rsyslog_ffi::{ret, Batch, FjsonBuilder, Msg, Prop, RsError, RsResult, Ruleset};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// An opened capture.
pub enum Handle {
    File(pcap::Capture<pcap::Offline>),
    Live(pcap::Capture<pcap::Active>),
}

/// A capture with what its messages carry.
pub struct Source {
    handle: Handle,
    ruleset: Option<Ruleset>,
    tag: Option<Vec<u8>>,
    /// Whose C impcap's output the packets get.
    dialect: Dialect,
}

impl Source {
    pub fn new(handle: Handle, ruleset: Option<Ruleset>, tag: Option<String>, dialect: Dialect) -> Self {
        Source {
            handle,
            ruleset,
            tag: tag.map(String::into_bytes),
            dialect,
        }
    }
}

fn pcap_text(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Opens the instance's file or interface (activateCnf), with the C module's error texts.
pub fn open(i: &Instance, s: &Settings) -> Result<Handle, String> {
    if let Some(f) = &i.file {
        return pcap::Capture::from_file(f)
            .map(Handle::File)
            .map_err(|e| format!("pcap: error while opening capture file: '{}'", pcap_text(&e)));
    }
    let dev = i.interface.as_deref().unwrap_or_default();
    let mut cap = pcap::Capture::from_device(dev)
        .map_err(|e| format!("pcap: error while creating packet capture: '{}'", pcap_text(&e)))?
        .snaplen(s.snap_length as i32)
        .promisc(i.promiscuous);
    cap = if i.no_buffer {
        cap.immediate_mode(true)
    } else {
        cap.buffer_size(i.buffer_size as i32).timeout(i.buffer_timeout as i32)
    };
    let mut active = cap.open().map_err(|e| activate_error(&e))?;
    if let Some(f) = &i.filter {
        // Compiled once on its own so a syntax error and a kernel refusal get their own texts.
        active
            .compile(f, true)
            .map_err(|e| format!("pcap: error while compiling filter: '{}'", pcap_text(&e)))?;
        active
            .filter(f, true)
            .map_err(|e| format!("pcap: error while setting filter: '{}'", pcap_text(&e)))?;
    }
    // Only Ethernet frames are decoded: an interface of another link type (tun, ...) is
    // refused at activation, as the C module does.
    active
        .set_datalink(pcap::Linktype::ETHERNET)
        .map_err(|e| format!("pcap: error while setting datalink type: '{}'", pcap_text(&e)))?;
    let active = active
        .setnonblock()
        .map_err(|e| format!("pcap: error while setting non-blocking mode: '{}'", pcap_text(&e)))?;
    Ok(Handle::Live(active))
}

fn activate_error(e: &pcap::Error) -> String {
    let t = pcap_text(e);
    if t.contains("No such device") || t.contains("doesn't exist") {
        "device doesn't exist".to_string()
    } else if (t.contains("ermission") || t.contains("not permitted")) && t.contains("promiscuous") {
        "elevated privilege needed to put interface in promiscuous mode".to_string()
    } else if t.contains("ermission") || t.contains("not permitted") {
        "elevated privilege needed to open capture interface".to_string()
    } else if t.contains("not up") {
        "interface is not up".to_string()
    } else {
        format!("pcap: {t}")
    }
}

/// Formats packet timestamps as [`rfc3339_utc_micros`] does, reusing the
/// date and time of day of the previous packet when the second is the same.
#[derive(Debug, Default)]
pub struct TimestampCache {
    sec: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS.uuuuuu+00:00` of the last packet.
    text: Vec<u8>,
}

impl TimestampCache {
    pub fn format(&mut self, secs: i64, usecs: i64) -> &[u8] {
        const LEN: usize = "2005-03-30T08:52:17.733384+00:00".len();
        if !(0..1_000_000).contains(&usecs) {
            self.sec = None;
            self.text = rfc3339_utc_micros(secs, usecs).into_bytes();
            return &self.text;
        }
        if self.sec != Some(secs) || self.text.len() != LEN {
            self.text = rfc3339_utc_micros(secs, 0).into_bytes();
            self.sec = (self.text.len() == LEN).then_some(secs);
            if self.sec.is_none() {
                // A year beyond 9999 (or before 0): no fixed layout to patch.
                self.text = rfc3339_utc_micros(secs, usecs).into_bytes();
                return &self.text;
            }
        }
        let mut u = usecs as u32;
        for i in (20..26).rev() {
            self.text[i] = b'0' + (u % 10) as u8;
            u /= 10;
        }
        &self.text
    }
}

/// Writes a packet's metadata object as the C module of `dialect` does;
/// returns the undecoded rest.
pub fn write_metadata<'p>(
    out: &mut impl JsonSink,
    id: u64,
    ts: (i64, i64),
    total_len: u32,
    pkt: &'p [u8],
    dialect: Dialect,
) -> &'p [u8] {
    write_metadata_with(
        out,
        id,
        TimestampCache::default().format(ts.0, ts.1),
        total_len,
        pkt,
        dialect,
    )
}

/// [`write_metadata`] with the timestamp already formatted.
pub fn write_metadata_with<'p>(
    out: &mut impl JsonSink,
    id: u64,
    ts: &[u8],
    total_len: u32,
    pkt: &'p [u8],
    dialect: Dialect,
) -> &'p [u8] {
    out.put_int(c"ID", id as i32);
    out.put_str(c"timestamp", ts);
    out.put_int(c"net_bytes_total", total_len as i32);
    let d = decode_packet(pkt, dialect, out);
    out.put_int(c"net_bytes_data", d.data_len as i32);
    &pkt[d.data_offset..d.data_offset + d.data_len]
}

/// Writes the data object: `{ "length": 2*n, "content": "<HEX>" }`.
pub fn write_data(out: &mut impl JsonSink, rest: &[u8], scratch: &mut Vec<u8>) {
    scratch.clear();
    hex_upper(rest, scratch);
    out.put_int(c"length", scratch.len() as i32);
    out.put_str(c"content", scratch);
}

struct Emitter<'a> {
    settings: &'a Settings,
    input_name: &'a Prop,
    ruleset: Option<Ruleset>,
    tag: Option<&'a [u8]>,
    dialect: Dialect,
    id: u64,
    batch: Batch,
    hex: Vec<u8>,
    ts: TimestampCache,
    /// Builders reused from packet to packet (created on first use).
    json: Option<(FjsonBuilder, FjsonBuilder)>,
}

impl Emitter<'_> {
    fn packet(&mut self, hdr: &pcap::PacketHeader, data: &[u8]) -> RsResult {
        self.id += 1;
        let no_json = || RsError::new(ret::INTERNAL_ERROR, "impcap: libfastjson not available");
        if self.json.is_none() {
            let m = FjsonBuilder::new().ok_or_else(no_json)?;
            let d = FjsonBuilder::new().ok_or_else(no_json)?;
            self.json = Some((m, d));
        }
        let Some((meta_b, dat_b)) = self.json.as_mut() else {
            return Err(no_json());
        };
        let ts = self.ts.format(hdr.ts.tv_sec, hdr.ts.tv_usec);
        let rest = write_metadata_with(meta_b, self.id, ts, hdr.len, data, self.dialect);
        write_data(dat_b, rest, &mut self.hex);
        let meta = meta_b.finish_and_renew();
        let dat = dat_b.finish_and_renew();
        let (Some(meta), Some(dat)) = (meta, dat) else {
            // A builder could not start its next tree: start over next time.
            self.json = None;
            return Err(RsError::code(ret::OUT_OF_MEMORY));
        };
        let mut msg = Msg::new()?;
        msg.set_input_name(self.input_name);
        msg.set_ruleset(self.ruleset);
        if let Some(t) = self.tag {
            msg.set_tag(t);
        }
        msg.add_json(&self.settings.data_container, dat)?;
        msg.add_json(&self.settings.metadata_container, meta)?;
        self.batch.add(msg, None)
    }
}

/// How long a capture thread sleeps between checks for termination.
const POLL: Duration = Duration::from_millis(100);
/// Packets read per wakeup of a live capture before the stop flag is checked again.
const MAX_PACKETS_PER_WAKEUP: usize = 4096;
/// Consecutive read errors after which a capture file is given up.
const MAX_FILE_ERRORS_IN_A_ROW: u32 = 8;
/// Pause after a capture error (e.g. the interface went down).
const ERROR_BACKOFF: Duration = Duration::from_millis(500);

/// Captures until the end of the file (then idles) or until rsyslog stops the input.
pub fn run_source(src: Source, settings: &Settings, input_name: &Prop, thread: &InputThread) -> RsResult {
    let Source {
        handle,
        ruleset,
        tag,
        dialect,
    } = src;
    let mut em = Emitter {
        settings,
        input_name,
        ruleset,
        tag: tag.as_deref(),
        dialect,
        id: 0,
        batch: Batch::new(),
        hex: Vec::new(),
        ts: TimestampCache::default(),
        json: None,
    };
    match handle {
        Handle::File(mut cap) => {
            let mut n = 0u64;
            let mut errors_in_a_row = 0;
            loop {
                match cap.next_packet() {
                    Ok(p) => {
                        errors_in_a_row = 0;
                        em.packet(p.header, p.data)?
                    }
                    Err(pcap::Error::NoMorePackets) => break,
                    Err(e) => {
                        // libpcap has consumed the bad block: read on after it, as the
                        // C module does (e.g. a pcapng interface block it rejects), but
                        // say so, and give up on a file that yields nothing but errors.
                        rsyslog_ffi::log_error(
                            0,
                            ret::IO_ERROR,
                            &format!("impcap: error while reading capture file: '{}'", pcap_text(&e)),
                        );
                        errors_in_a_row += 1;
                        if errors_in_a_row >= MAX_FILE_ERRORS_IN_A_ROW {
                            break;
                        }
                    }
                }
                n += 1;
                if n.is_multiple_of(1024) && thread.should_stop() {
                    break;
                }
            }
            em.batch.flush()?;
            // End of file: stay idle (no CPU) until rsyslog shuts the input down.
            while !thread.should_stop() {
                std::thread::sleep(POLL);
            }
        }
        Handle::Live(mut cap) => {
            let fd = cap.as_raw_fd();
            let mut last_error: Option<String> = None;
            while !thread.should_stop() {
                if !rsyslog_ffi::sys::wait_readable(fd, POLL) {
                    continue;
                }
                // Bounded per wakeup so the stop request is seen under sustained traffic.
                for _ in 0..MAX_PACKETS_PER_WAKEUP {
                    match cap.next_packet() {
                        Ok(p) => em.packet(p.header, p.data)?,
                        Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => break,
                        Err(e) => {
                            // Log a new error once, then back off instead of spinning.
                            let t = pcap_text(&e);
                            if last_error.as_deref() != Some(t.as_str()) {
                                rsyslog_ffi::log_error(0, ret::IO_ERROR, &format!("impcap: capture error: '{t}'"));
                                last_error = Some(t);
                            }
                            em.batch.flush()?;
                            std::thread::sleep(ERROR_BACKOFF);
                            break;
                        }
                    }
                }
                em.batch.flush()?;
            }
        }
    }
    em.batch.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsyslog_ffi::TextJson;

    #[test]
    fn metadata_and_data_objects() {
        let mut pkt = vec![0u8; 20];
        pkt[12] = 0x12; // unknown type
        pkt[14..20].copy_from_slice(b"abcdef");
        let mut m = TextJson::new();
        let rest = write_metadata(&mut m, 7, (1_112_172_737, 733_384), 20, &pkt, Dialect::V2504);
        assert_eq!(
            m.render(),
            r#"{ "ID": 7, "timestamp": "2005-03-30T08:52:17.733384+00:00", "net_bytes_total": 20, "ETH_src": "0:0:0:0:0:0", "ETH_dst": "0:0:0:0:0:0", "ETH_type": 4608, "ETH_typestr": "UNKNOWN", "net_bytes_data": 6 }"#
        );
        let mut d = TextJson::new();
        write_data(&mut d, rest, &mut Vec::new());
        assert_eq!(d.render(), r#"{ "length": 12, "content": "616263646566" }"#);
    }

    #[test]
    fn timestamp_cache_matches_the_formatter() {
        let mut c = TimestampCache::default();
        for &(s, u) in &[
            (1_112_172_737, 733_384),
            (1_112_172_737, 5),
            (1_112_172_738, 999_999),
            (0, 0),
            (-1, 10),
            (1_112_172_738, 1_000_001),
            (1_112_172_738, -3),
            (253_402_300_800, 7),
            (1_112_172_738, 12),
        ] {
            assert_eq!(c.format(s, u), rfc3339_utc_micros(s, u).as_bytes(), "{s} {u}");
        }
    }
}
