//! Our impcap.so in a real rsyslogd reading a pcap file.

use rsyslog_tests::pcapfile::{ethernet, write, Frame};
use rsyslog_tests::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);
const DST: [u8; 6] = [0x00, 0xe0, 0x18, 0xb1, 0x0c, 0xad];
const SRC: [u8; 6] = [0x00, 0xc0, 0x9f, 0x32, 0x41, 0x8c];

fn conf(extra_input: &str) -> String {
    format!(
        r#"
module(load="${{IMPCAP}}")
input(type="impcap" file="${{WORKDIR}}/in.pcap" {extra_input})
template(name="j" type="string" string="%inputname%|%syslogtag%|%$!impcap%|%$!data%\n")
if $inputname == "impcap" then action(type="omfile" file="${{WORKDIR}}/out" template="j")
"#
    )
}

/// Frames whose decoding stops at Ethernet in the C module too (LLDP, an
/// unknown type padded to 60 bytes, a VLAN tag). The expected lines are what
/// rsyslog 8.2504's C impcap printed for exactly these frames (checked by hand
/// with the upstream build; the differential test of the impcap issue
/// automates that). The first frame shows the C padding rule: a frame of at
/// most 60 bytes whose rest starts with 0x00 has no data.
fn frames() -> Vec<Frame> {
    let mut vlan = vec![0x00, 0x05, 0x88, 0xcc];
    vlan.extend_from_slice(b"\x01\x02\x03");
    vec![
        Frame::new(
            1_112_172_737,
            733_384,
            ethernet(DST, SRC, 0x88cc, &(0u8..30).collect::<Vec<_>>()),
        ),
        Frame::new(
            1_112_172_737,
            733_385,
            ethernet(DST, SRC, 0x88cc, &(1u8..31).collect::<Vec<_>>()),
        ),
        Frame::new(1_112_172_738, 5, ethernet(DST, SRC, 0x9000, &[0u8; 46])),
        Frame::new(1_112_172_739, 999_999, ethernet(DST, SRC, 0x8100, &vlan)),
        // A runt frame (no Ethernet header) starting with 0x00 is all data.
        Frame::new(1_112_172_740, 0, vec![0, 1, 2]),
    ]
}

const EXPECTED: [&str; 5] = [
    r#"impcap||{ "ID": 1, "timestamp": "2005-03-30T08:52:17.733384+00:00", "net_bytes_total": 44, "ETH_src": "0:c0:9f:32:41:8c", "ETH_dst": "0:e0:18:b1:c:ad", "ETH_type": 35020, "ETH_typestr": "LLDP", "net_bytes_data": 0 }|{ "length": 0, "content": "" }"#,
    r#"impcap||{ "ID": 2, "timestamp": "2005-03-30T08:52:17.733385+00:00", "net_bytes_total": 44, "ETH_src": "0:c0:9f:32:41:8c", "ETH_dst": "0:e0:18:b1:c:ad", "ETH_type": 35020, "ETH_typestr": "LLDP", "net_bytes_data": 30 }|{ "length": 60, "content": "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E" }"#,
    r#"impcap||{ "ID": 3, "timestamp": "2005-03-30T08:52:18.000005+00:00", "net_bytes_total": 60, "ETH_src": "0:c0:9f:32:41:8c", "ETH_dst": "0:e0:18:b1:c:ad", "ETH_type": 36864, "ETH_typestr": "UNKNOWN", "net_bytes_data": 0 }|{ "length": 0, "content": "" }"#,
    r#"impcap||{ "ID": 4, "timestamp": "2005-03-30T08:52:19.999999+00:00", "net_bytes_total": 21, "ETH_src": "0:c0:9f:32:41:8c", "ETH_dst": "0:e0:18:b1:c:ad", "ETH_tag": 5, "ETH_type": 35020, "ETH_typestr": "LLDP", "net_bytes_data": 3 }|{ "length": 6, "content": "010203" }"#,
    r#"impcap||{ "ID": 5, "timestamp": "2005-03-30T08:52:20.000000+00:00", "net_bytes_total": 3, "net_bytes_data": 3 }|{ "length": 6, "content": "000102" }"#,
];

#[test]
fn reads_pcap_file_one_message_per_packet() {
    let Some(host) = require_host("reads_pcap_file_one_message_per_packet") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    write(&pcap, &frames()).unwrap();
    let c = conf("").replace("${WORKDIR}/in.pcap", pcap.to_str().unwrap());
    let d = Daemon::start(&host, &c);
    let lines = d.wait_lines("out", 5, T);
    // At the end of the file the input idles; shutdown stays prompt and clean.
    std::thread::sleep(Duration::from_millis(300));
    let st = d.stop();
    st.assert_clean();
    assert!(st.elapsed < Duration::from_secs(2), "shutdown took {:?}", st.elapsed);
    assert_eq!(lines, EXPECTED);
}

#[test]
fn tag_and_ruleset_are_applied() {
    let Some(host) = require_host("tag_and_ruleset_are_applied") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    write(&pcap, &frames()[1..2]).unwrap();
    let c = format!(
        r#"
module(load="${{IMPCAP}}" metadata_container="!meta" data_container="!payload")
template(name="j" type="string" string="%syslogtag%|%$!meta!ID%|%$!payload!length%|%$!impcap%\n")
ruleset(name="pk") {{ action(type="omfile" file="${{WORKDIR}}/out" template="j") }}
input(type="impcap" file="{}" tag="pcaptag" ruleset="pk")
"#,
        pcap.display()
    );
    let d = Daemon::start(&host, &c);
    let lines = d.wait_lines("out", 1, T);
    d.stop().assert_clean();
    assert_eq!(lines, ["pcaptag|1|60|"]);
}

/// A frame with more than 65535 bytes of data (a capture file can hold one)
/// hangs the C module's input thread, whose hex loop counter is 16 bits
/// (README, deliberate differences). Ours writes all of it and goes on with
/// the next packet.
#[test]
fn large_frame_is_complete() {
    let Some(host) = require_host("large_frame_is_complete") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("big.pcap");
    let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    write(
        &pcap,
        &[
            Frame::new(1, 0, ethernet(DST, SRC, 0x88b5, &payload)),
            Frame::new(2, 0, ethernet(DST, SRC, 0x88b5, b"next")),
        ],
    )
    .unwrap();
    let c = conf("").replace("${WORKDIR}/in.pcap", pcap.to_str().unwrap());
    let d = Daemon::start(&host, &c);
    let lines = d.wait_lines("out", 2, T);
    d.stop().assert_clean();
    let mut hex = String::new();
    for b in &payload {
        hex.push_str(&format!("{b:02X}"));
    }
    assert!(
        lines[0].contains(r#""net_bytes_data": 70000 }"#),
        "{}",
        lines[0].get(..300).unwrap_or(&lines[0])
    );
    assert!(
        lines[0].ends_with(&format!(r#"{{ "length": 140000, "content": "{hex}" }}"#)),
        "data of the large frame is incomplete"
    );
    assert!(
        lines[1].contains(r#""ID": 2,"#) && lines[1].ends_with(r#""content": "6E657874" }"#),
        "{}",
        lines[1]
    );
}

/// The output follows the C impcap of the host the module was loaded into:
/// 8.2504's on 8.2302 and 8.2504, current upstream's on current upstream
/// (the differential test compares both hosts' C modules packet by packet;
/// this also covers 8.2302, whose tree is not built).
#[test]
fn output_follows_the_hosts_c_module() {
    let Some(host) = require_host("output_follows_the_hosts_c_module") else {
        return;
    };
    // RARP with different sender and target hardware addresses, and an ARP
    // request with hardware length 4 (tcpdump's arp-oobr.pcap #202).
    let mut rarp = vec![0, 1, 8, 0, 6, 4, 0, 3];
    rarp.extend_from_slice(&SRC);
    rarp.extend_from_slice(&[192, 168, 1, 10]);
    rarp.extend_from_slice(&[0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
    rarp.extend_from_slice(&[192, 168, 1, 1]);
    let arp: Vec<u8> = (0..46)
        .map(|i| {
            let h = "0001080004040001001f29da2d79c0a80168000000000000c0a80101000000000000000000000000000000000000";
            u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap()
        })
        .collect();
    let frames = vec![
        Frame::new(1_112_172_737, 1, ethernet(DST, SRC, 0x8035, &rarp)),
        Frame::new(
            1_112_172_737,
            2,
            ethernet([0xff; 6], [0, 0x1f, 0x29, 0xda, 0x2d, 0x79], 0x0806, &arp),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    write(&pcap, &frames).unwrap();
    let c = conf("").replace("${WORKDIR}/in.pcap", pcap.to_str().unwrap());
    let d = Daemon::start(&host, &c);
    let lines = d.wait_lines("out", 2, T);
    d.stop().assert_clean();
    let upstream = host.is_current_upstream();
    let rarp_src = if upstream { "0:c0:9f:32:41:8c" } else { "a:b:c:d:e:f" };
    assert!(
        lines[0].contains(&format!(r#""RARP_hwSrc": "{rarp_src}", "RARP_hwDst": "a:b:c:d:e:f""#)),
        "{} {}: {}",
        host.version,
        rarp_src,
        lines[0]
    );
    const ARP: &str = r#""ARP_hwType": 1, "ARP_pType": 2048, "ARP_op": 1"#;
    let arp_fields = if upstream {
        format!("{ARP}, ")
    } else {
        format!(
            r#"{ARP}, "ARP_hwSrc": "0:1f:29:da:2d:79", "ARP_hwDst": "1:68:0:0:0:0", "ARP_pSrc": "45.121.192.168", "ARP_pDst": "0.0.0.0", "#
        )
    };
    assert!(
        lines[1].contains(&format!(r#"{arp_fields}"net_bytes_data": 0 }}"#)),
        "{}: {}",
        host.version,
        lines[1]
    );
}
