use super::*;

const LINK: &str = "--delay=15ms --bandwidth=10Mbps --queue=25";

fn parse(line: &str) -> Result<Scenario, ScenarioError> {
    parse_scenario_line(line)
}

#[test]
fn simple_p2p() {
    let scenario: Scenario = parse(&format!("simple-p2p {LINK}")).unwrap();
    assert_eq!(scenario.kind, ScenarioKind::SimpleP2p);
    assert_eq!(scenario.link.delay, Duration::from_millis(15));
    assert_eq!(scenario.link.bandwidth_bps, 10_000_000);
    assert_eq!(scenario.link.queue_packets, 25);
}

#[test]
fn drop_and_corrupt_rates() {
    let scenario: Scenario = parse(&format!(
        "drop-rate {LINK} --rate_to_server=30 --rate_to_client=2 --burst_to_server=3"
    ))
    .unwrap();
    assert_eq!(
        scenario.kind,
        ScenarioKind::DropRate {
            to_server: RateSpec {
                percent: 30.0,
                max_burst: Some(3)
            },
            to_client: RateSpec {
                percent: 2.0,
                max_burst: None
            },
        }
    );
    let corrupt: Scenario = parse(&format!(
        "corrupt-rate {LINK} --rate_to_server=2 --rate_to_client=2.5"
    ))
    .unwrap();
    assert!(matches!(corrupt.kind, ScenarioKind::CorruptRate { .. }));
}

#[test]
fn droplist_blackhole_rebind() {
    let drops: Scenario = parse(&format!(
        "droplist {LINK} --drops_to_server=2,3,4 --drops_to_client=1,5"
    ))
    .unwrap();
    assert_eq!(
        drops.kind,
        ScenarioKind::Droplist {
            to_server: [2, 3, 4].into_iter().collect(),
            to_client: [1, 5].into_iter().collect(),
        }
    );
    let hole: Scenario = parse(&format!(
        "blackhole {LINK} --on=5s --off=2s --repeat=3 --direction=toclient"
    ))
    .unwrap();
    assert_eq!(
        hole.kind,
        ScenarioKind::Blackhole {
            on: Duration::from_secs(5),
            off: Duration::from_secs(2),
            repeat: 3,
            direction: BlackholeDirection::ToClient,
        }
    );
    let rebind: Scenario = parse(&format!(
        "rebind {LINK} --first-rebind=1s --rebind-freq=5s --rebind-addr"
    ))
    .unwrap();
    assert_eq!(
        rebind.kind,
        ScenarioKind::Rebind {
            first: Duration::from_secs(1),
            freq: Some(Duration::from_secs(5)),
            rebind_addr: true,
        }
    );
    let cross: Scenario = parse(&format!("tcp-cross-traffic {LINK}")).unwrap();
    assert_eq!(cross.kind, ScenarioKind::TcpCrossTraffic);
}

#[test]
fn every_bad_input_is_explained() {
    let cases: &[(&str, &str)] = &[
        ("", "no scenario given"),
        ("warp-drive --delay=1ms", "unknown scenario \"warp-drive\""),
        ("simple-p2p --delay=15ms --bandwidth=10Mbps", "missing required flag --queue"),
        ("simple-p2p --bandwidth=10Mbps --queue=25", "missing required flag --delay"),
        ("simple-p2p --delay=15ms --queue=25", "missing required flag --bandwidth"),
        ("simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25 --speed=9", "unknown flag --speed"),
        ("simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s", "unknown flag --on"),
        ("simple-p2p --delay=fast --bandwidth=10Mbps --queue=25", "bad value --delay=fast"),
        ("simple-p2p --delay=15ms --bandwidth=10 --queue=25", "bad value --bandwidth=10"),
        ("simple-p2p --delay=15ms --bandwidth=10Mbps --queue=0", "bad value --queue=0"),
        ("simple-p2p --delay=15ms --bandwidth=10Mbps --queue=x", "bad value --queue=x"),
        ("simple-p2p --delay= --bandwidth=10Mbps --queue=25", "--delay needs a value"),
        ("simple-p2p --delay=1ms --delay=2ms --bandwidth=10Mbps --queue=25", "--delay is given twice"),
        ("simple-p2p delay=15ms", "unexpected argument \"delay=15ms\""),
        ("drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=3", "missing required flag --rate_to_client"),
        ("drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=300 --rate_to_client=1", "bad value --rate_to_server=300"),
        ("corrupt-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=3 --rate_to_client=1 --burst_to_client=-1", "bad value --burst_to_client=-1"),
        ("droplist --delay=15ms --bandwidth=10Mbps --queue=25 --drops_to_server=0,1", "bad value --drops_to_server=0,1"),
        ("droplist --delay=15ms --bandwidth=10Mbps --queue=25 --drops_to_client=a", "bad value --drops_to_client=a"),
        ("blackhole --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s", "missing required flag --off"),
        ("blackhole --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s --off=2s --repeat=0", "bad value --repeat=0"),
        ("blackhole --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s --off=2s --direction=up", "bad value --direction=up"),
        ("rebind --delay=15ms --bandwidth=10Mbps --queue=25", "missing required flag --first-rebind"),
        ("rebind --delay=15ms --bandwidth=10Mbps --queue=25 --first-rebind=1s --rebind-addr=maybe", "bad value --rebind-addr=maybe"),
        ("rebind --delay=15ms --bandwidth=10Mbps --queue=25 --first-rebind=1s --rebind-freq=0s", "bad value --rebind-freq=0s"),
    ];
    for (line, expected) in cases {
        let error: String = parse(line).expect_err(line).to_string();
        assert!(
            error.contains(expected),
            "{line:?} gave {error:?}, expected it to mention {expected:?}"
        );
        assert!(!error.contains('\n'), "{error:?} is not one line");
    }
}
