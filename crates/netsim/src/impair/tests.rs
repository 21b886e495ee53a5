use super::*;
use crate::packet::l4_checksum_ok;
use crate::packet::testing::{l4_packet, udp_packet};
use crate::scenario::parse_scenario_line;

const LINK: &str = "--delay=15ms --bandwidth=10Mbps --queue=25";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn impairments(line: &str, seed: u64) -> Impairments {
    let scenario = parse_scenario_line(line).unwrap();
    let facts: NetFacts = NetFacts {
        client_nets: vec![Subnet {
            addr: ip("193.167.0.0"),
            prefix: 24,
        }],
        sim_addrs: [ip("193.167.0.2")].into_iter().collect(),
    };
    Impairments::new(&scenario.kind, facts, Rng::from_seed(seed))
}

fn to_server(payload: &[u8]) -> Vec<u8> {
    udp_packet(
        ip("193.167.0.100"),
        ip("193.167.100.100"),
        50000,
        443,
        payload,
    )
}

fn to_client(port: u16, dst: &str) -> Vec<u8> {
    udp_packet(ip("193.167.100.100"), ip(dst), 443, port, b"reply")
}

#[test]
fn droplist_counts_every_packet_per_direction() {
    let mut imp: Impairments = impairments(
        &format!("droplist {LINK} --drops_to_server=2,3 --drops_to_client=1"),
        1,
    );
    let mut log: Vec<String> = Vec::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    for _ in 0..4 {
        let mut p: Vec<u8> = to_server(b"x");
        verdicts.push(imp.apply(Direction::ToServer, Duration::ZERO, &mut p, &mut log));
    }
    // A TCP packet counts too.
    let mut tcp: Vec<u8> = l4_packet(ip("193.167.100.100"), ip("193.167.0.100"), 6, &[0; 20]);
    let first_to_client: Verdict =
        imp.apply(Direction::ToClient, Duration::ZERO, &mut tcp, &mut log);
    assert_eq!(
        verdicts,
        vec![
            Verdict::Forward,
            Verdict::Drop(DropReason::Listed(2)),
            Verdict::Drop(DropReason::Listed(3)),
            Verdict::Forward
        ]
    );
    assert_eq!(first_to_client, Verdict::Drop(DropReason::Listed(1)));
    assert_eq!(log.len(), 3);
}

#[test]
fn drop_rate_respects_burst_limit_and_spares_tcp() {
    let mut imp: Impairments = impairments(
        &format!("drop-rate {LINK} --rate_to_server=100 --rate_to_client=0 --burst_to_server=3"),
        5,
    );
    let mut log: Vec<String> = Vec::new();
    let pattern: Vec<bool> = (0..8)
        .map(|_| {
            let mut p: Vec<u8> = to_server(b"x");
            imp.apply(Direction::ToServer, Duration::ZERO, &mut p, &mut log) == Verdict::Forward
        })
        .collect();
    assert_eq!(
        pattern,
        vec![false, false, false, true, false, false, false, true]
    );
    let mut reply: Vec<u8> = to_client(50000, "193.167.0.100");
    assert_eq!(
        imp.apply(Direction::ToClient, Duration::ZERO, &mut reply, &mut log),
        Verdict::Forward
    );
    let mut tcp: Vec<u8> = l4_packet(ip("193.167.0.100"), ip("193.167.100.100"), 6, &[0; 20]);
    assert_eq!(
        imp.apply(Direction::ToServer, Duration::ZERO, &mut tcp, &mut log),
        Verdict::Forward
    );
}

#[test]
fn drop_rate_is_close_to_configured() {
    let mut imp: Impairments = impairments(
        &format!("drop-rate {LINK} --rate_to_server=2 --rate_to_client=30"),
        9,
    );
    let mut log: Vec<String> = Vec::new();
    let dropped: usize = (0..100_000)
        .filter(|_| {
            let mut p: Vec<u8> = to_client(50000, "193.167.0.100");
            imp.apply(Direction::ToClient, Duration::ZERO, &mut p, &mut log) != Verdict::Forward
        })
        .count();
    assert!((29_000..31_000).contains(&dropped), "{dropped}");
}

#[test]
fn corruption_changes_one_early_byte_and_keeps_checksum() {
    let mut imp: Impairments = impairments(
        &format!("corrupt-rate {LINK} --rate_to_server=100 --rate_to_client=100"),
        2,
    );
    let mut log: Vec<String> = Vec::new();
    let payload: Vec<u8> = vec![0xc3; 1200];
    for _ in 0..200 {
        let mut p: Vec<u8> = to_server(&payload);
        let original: Vec<u8> = p.clone();
        assert_eq!(
            imp.apply(Direction::ToServer, Duration::ZERO, &mut p, &mut log),
            Verdict::Corrupted
        );
        let info: IpInfo = parse_ip(&p).unwrap();
        assert!(l4_checksum_ok(&p, &info));
        let changed: Vec<usize> = (28..p.len()).filter(|i| p[*i] != original[*i]).collect();
        assert_eq!(changed.len(), 1);
        assert!(changed[0] - 28 < 50);
    }
    let mut vn: Vec<u8> = udp_packet(
        ip("193.167.100.100"),
        ip("193.167.0.100"),
        443,
        50000,
        &[0x80, 0, 0, 0, 0, 8, 1, 2, 3],
    );
    let before: Vec<u8> = vn.clone();
    assert_eq!(
        imp.apply(Direction::ToClient, Duration::ZERO, &mut vn, &mut log),
        Verdict::Forward
    );
    assert_eq!(vn, before);
}

#[test]
fn blackhole_schedule() {
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    // on 5s, off 2s, twice, then open forever.
    let states: Vec<bool> = [
        0, 4999, 5000, 6999, 7000, 11999, 12000, 13999, 14000, 100_000,
    ]
    .iter()
    .map(|t| blackhole_active(s(5), s(2), 2, ms(*t)))
    .collect();
    assert_eq!(
        states,
        vec![false, false, true, true, false, false, true, true, false, false]
    );
    let mut imp: Impairments = impairments(
        &format!("blackhole {LINK} --on=1s --off=1s --direction=toserver"),
        1,
    );
    let mut log: Vec<String> = Vec::new();
    let mut p: Vec<u8> = to_server(b"x");
    assert_eq!(
        imp.apply(Direction::ToServer, ms(1500), &mut p, &mut log),
        Verdict::Drop(DropReason::Blackhole)
    );
    let mut r: Vec<u8> = to_client(50000, "193.167.0.100");
    assert_eq!(
        imp.apply(Direction::ToClient, ms(1500), &mut r, &mut log),
        Verdict::Forward
    );
}

#[test]
fn rebind_translates_both_ways_and_drops_stale_replies() {
    let mut imp: Impairments = impairments(
        &format!("rebind {LINK} --first-rebind=1s --rebind-freq=5s --rebind-addr"),
        4,
    );
    let mut log: Vec<String> = Vec::new();
    let mut p: Vec<u8> = to_server(b"hello");
    assert_eq!(
        imp.apply(Direction::ToServer, Duration::ZERO, &mut p, &mut log),
        Verdict::Forward
    );
    let info: IpInfo = parse_ip(&p).unwrap();
    assert_eq!(
        (info.src, ports(&p, &info).unwrap().0),
        (ip("193.167.0.100"), 50000)
    );
    // After the first rebind the flow has a new source address and port.
    let mut q: Vec<u8> = to_server(b"hello");
    imp.apply(
        Direction::ToServer,
        Duration::from_millis(1500),
        &mut q,
        &mut log,
    );
    let info: IpInfo = parse_ip(&q).unwrap();
    let (new_port, _) = ports(&q, &info).unwrap();
    assert_ne!(info.src, ip("193.167.0.100"));
    assert!(l4_checksum_ok(&q, &info));
    // A reply to the old binding is dropped, one to the new binding is translated back.
    let mut stale: Vec<u8> = to_client(50000, "193.167.0.100");
    assert_eq!(
        imp.apply(
            Direction::ToClient,
            Duration::from_millis(1600),
            &mut stale,
            &mut log
        ),
        Verdict::Drop(DropReason::UnknownBinding)
    );
    let mut fresh: Vec<u8> = to_client(new_port, &info.src.to_string());
    assert_eq!(
        imp.apply(
            Direction::ToClient,
            Duration::from_millis(1600),
            &mut fresh,
            &mut log
        ),
        Verdict::Forward
    );
    let back: IpInfo = parse_ip(&fresh).unwrap();
    assert_eq!(
        (back.dst, ports(&fresh, &back).unwrap().1),
        (ip("193.167.0.100"), 50000)
    );
    assert!(l4_checksum_ok(&fresh, &back));
    assert!(log.iter().any(|l| l.contains("rebinding")));
}

#[test]
fn blackhole_changes_are_scheduled_exactly() {
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    // on 5s, off 2s, twice: closes at 5s and 12s, opens at 7s and 14s.
    let next: Vec<Option<Duration>> = [0, 4999, 5000, 6999, 7000, 13999, 14000, 100_000]
        .iter()
        .map(|t| blackhole_next_change(s(5), s(2), 2, ms(*t)))
        .collect();
    assert_eq!(
        next,
        vec![
            Some(s(5)),
            Some(s(5)),
            Some(s(7)),
            Some(s(7)),
            Some(s(12)),
            Some(s(14)),
            None,
            None
        ]
    );
    for t in [0, 4999, 5000, 6999, 7000, 13999] {
        let at = blackhole_next_change(s(5), s(2), 2, ms(t)).unwrap();
        let before = blackhole_active(s(5), s(2), 2, at - Duration::from_nanos(1));
        assert_ne!(before, blackhole_active(s(5), s(2), 2, at), "{t} ms");
    }
    assert_eq!(blackhole_next_change(s(0), s(0), 3, ms(1)), None);
    let imp: Impairments = impairments(
        &format!("blackhole {LINK} --on=1s --off=1s --direction=toserver"),
        1,
    );
    assert_eq!(imp.next_event(ms(1500)), Some(s(2)));
}

#[test]
fn rebinds_happen_on_schedule_without_packets() {
    let s = Duration::from_secs;
    let mut imp: Impairments = impairments(
        &format!("rebind {LINK} --first-rebind=1s --rebind-freq=5s"),
        4,
    );
    let mut log: Vec<String> = Vec::new();
    assert_eq!(imp.next_event(Duration::ZERO), Some(s(1)));
    imp.advance(Duration::from_millis(999), &mut log);
    assert!(log.is_empty());
    imp.advance(s(1), &mut log);
    assert_eq!(log.len(), 1);
    assert!(log[0].starts_with("1.000s: rebind"), "{log:?}");
    assert_eq!(imp.next_event(s(1)), Some(s(6)));
    // A late wake-up catches up on every rebind it missed, each stamped with
    // its own time.
    imp.advance(s(16), &mut log);
    let times: Vec<&str> = log.iter().map(|l| &l[..7]).collect();
    assert_eq!(times, ["1.000s:", "6.000s:", "11.000s", "16.000s"]);
    assert_eq!(imp.next_event(s(16)), Some(s(21)));
    let plain: Impairments = impairments(&format!("simple-p2p {LINK}"), 1);
    assert_eq!(plain.next_event(s(1)), None);
}
