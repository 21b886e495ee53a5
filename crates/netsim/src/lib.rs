//! The network simulator: forwards packets between the client-side and the
//! server-side network through a modelled link, and records both sides' traces.
//!
//! Start-up order matters to the endpoints: check the configuration, find the
//! two sides, make sure the kernel cannot forward, wait for the server
//! (`WAITFORSERVER`), start the traces, and only then open the readiness port
//! that clients wait on.

pub mod capture;
pub mod clock;
pub mod config;
pub mod cross;
pub mod error;
pub mod forwarder;
pub mod gso;
pub mod iface;
pub mod impair;
pub mod kernel;
pub mod link;
pub mod nat;
pub mod packet;
pub mod rng;
pub mod scenario;
pub mod sender;
pub mod signals;
pub mod tool;
pub mod units;
pub mod waitserver;

pub use kernel::{CAPABILITIES, SYSCTLS};

/// The capture of the client's side (eth0, "left") in the logs directory.
pub const CLIENT_SIDE_TRACE: &str = "trace_node_left.pcap";
/// The capture of the server's side (eth1, "right").
pub const SERVER_SIDE_TRACE: &str = "trace_node_right.pcap";

use config::Config;
use error::SimError;
use forwarder::{Forwarder, Side};
use iface::{Interface, Sides};
use impair::{Impairments, NetFacts};
use link::Link;
use rng::Rng;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait for both networks to be attached with addresses.
const INTERFACE_WAIT: Duration = Duration::from_secs(10);
/// How long the server may take to answer the Version Negotiation probe. Slow
/// servers (Python ones on a loaded host) need more than 10 s; the client waits 30 s
/// for the readiness port (`wait-for-it.sh -t 30`), so 25 s stays invisible to it.
const SERVER_WAIT: Duration = Duration::from_secs(25);
/// The endpoints' `wait-for-it.sh sim:57832 -t 30`.
const CLIENT_READY_WAIT: Duration = Duration::from_secs(30);
const _: () = assert!(SERVER_WAIT.as_secs() < CLIENT_READY_WAIT.as_secs());

/// How the simulator's first console line begins; it is printed once the
/// stop signals and the runner's cues are in hand (a runner that sends a
/// cue waits for it).
pub const SCENARIO_LINE: &str = "Using scenario:";

/// Exit code for a bad scenario or environment.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for a failure at run time.
pub const EXIT_FAILURE: i32 = 1;

/// Entry point of the `interop-sim` binary; returns the process exit code.
pub fn main_with_args(args: Vec<String>) -> i32 {
    let rest: &[String] = args.get(1..).unwrap_or(&[]);
    if rest.first().map(String::as_str) == Some("probe") {
        return tool::main_with_args(&rest[1..]);
    }
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", config::USAGE);
        return 0;
    }
    let config: Config = match config::load(rest, &|name: &str| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("interop-sim: {e}");
            return EXIT_USAGE;
        }
    };
    match run(&config) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("interop-sim: {e}");
            EXIT_FAILURE
        }
    }
}

fn run(config: &Config) -> Result<(), SimError> {
    // Block the stop signals first so a signal during start-up is not lost.
    let signals: signals::StopSignals =
        signals::StopSignals::install().map_err(SimError::Signals)?;
    let sides: Sides = find_sides(config)?;
    kernel::ensure_no_kernel_forwarding(&[&sides.left.name, &sides.right.name])?;
    println!("{SCENARIO_LINE} {}", config.scenario_text);
    println!("client side: {} {}", sides.left.name, describe(&sides.left));
    println!(
        "server side: {} {}",
        sides.right.name,
        describe(&sides.right)
    );
    let mut rng: Rng = config
        .seed
        .map(Rng::from_seed)
        .unwrap_or_else(Rng::from_entropy);
    let mut probe_socket: Option<std::net::UdpSocket> = None;
    if let Some(target) = &config.wait_for_server {
        println!("waiting up to {} s for {target}", SERVER_WAIT.as_secs());
        let (took, socket) = waitserver::wait_for_server(target, SERVER_WAIT, &mut rng)?;
        println!("{target} is available after {:.3} s", took.as_secs_f64());
        probe_socket = Some(socket);
    }
    if config.hold {
        println!("holding the link until the runner's go (SIGUSR1)");
        if let Some(stop) = hold(&signals)? {
            println!("stopped by signal {stop} before the link opened");
            return Ok(());
        }
        println!("go");
    }
    let probe_port: Option<u16> = probe_socket
        .as_ref()
        .and_then(|s| s.local_addr().ok())
        .map(|a| a.port());
    set_timer_slack();
    if std::env::var("SIM_REALTIME")
        .map(|v| v != "0")
        .unwrap_or(true)
        && try_realtime()
    {
        println!("running with real-time priority");
    }
    let io_sides: [Side; 2] = [
        open_side(&sides.left, config, CLIENT_SIDE_TRACE)?,
        open_side(&sides.right, config, SERVER_SIDE_TRACE)?,
    ];
    let link = &config.scenario.link;
    let delay_ns: u64 = link.delay.as_nanos() as u64;
    let links: [Link<cross::Cargo>; 2] = [
        Link::new(link.bandwidth_bps, delay_ns, link.queue_packets),
        Link::new(link.bandwidth_bps, delay_ns, link.queue_packets),
    ];
    let facts: NetFacts = NetFacts {
        client_nets: sides.left.subnets(),
        sim_addrs: sides
            .left
            .addrs
            .iter()
            .chain(&sides.right.addrs)
            .map(|(a, _)| *a)
            .collect(),
    };
    let impairments: Impairments = Impairments::new(&config.scenario.kind, facts, rng);
    let cross_flow: Option<cross::CrossFlow> = matches!(
        config.scenario.kind,
        scenario::ScenarioKind::TcpCrossTraffic
    )
    .then(cross::CrossFlow::new);
    let mut forwarder: Forwarder = Forwarder::new(io_sides, links, impairments, cross_flow);
    let listener: TcpListener = open_ready_listener(config.ready_port)?;
    println!("link up; listening on TCP port {}", config.ready_port);
    forwarder.hide_probe_port(probe_port);
    let signal: i32 = forwarder.run(&signals, &listener)?;
    drop(probe_socket);
    println!("stopped by signal {signal}");
    Ok(())
}

/// Waits for the go cue; a stop signal instead is returned.
fn hold(signals: &signals::StopSignals) -> Result<Option<i32>, SimError> {
    loop {
        match signals.wait().map_err(SimError::Signals)? {
            signals::GO => return Ok(None),
            // The trial ended before its link opened: no trace will come.
            signals::END => println!("{}", forwarder::TRACES_COMPLETE),
            stop => return Ok(Some(stop)),
        }
    }
}

fn find_sides(config: &Config) -> Result<Sides, SimError> {
    let deadline: Instant = Instant::now() + INTERFACE_WAIT;
    loop {
        let interfaces: Vec<Interface> = iface::list_interfaces()?;
        match iface::identify(&interfaces, config.left_subnet, config.right_subnet) {
            Ok(sides) => return Ok(sides),
            Err(e) if Instant::now() >= deadline => return Err(SimError::NoSides(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn describe(iface: &Interface) -> String {
    iface
        .addrs
        .iter()
        .map(|(a, p)| format!("{a}/{p}"))
        .collect::<Vec<String>>()
        .join(" ")
}

fn open_side(iface: &Interface, config: &Config, file: &str) -> Result<Side, SimError> {
    let capture: capture::CaptureSocket =
        capture::CaptureSocket::open(iface.index).map_err(|source| SimError::Capture {
            iface: iface.name.clone(),
            source,
        })?;
    let sender: sender::RawSender =
        sender::RawSender::open(&iface.name).map_err(|source| SimError::RawSocket {
            iface: iface.name.clone(),
            source,
        })?;
    let path: std::path::PathBuf = Path::new(&config.logs_dir).join(file);
    let trace: wirecap::PcapWriter<std::fs::File> =
        wirecap::PcapWriter::create(&path).map_err(|source| SimError::CreateTrace {
            path: path.clone(),
            source,
        })?;
    Ok(Side {
        subnets: iface.subnets(),
        iface: iface.clone(),
        capture,
        trace,
        sender,
    })
}

fn open_ready_listener(port: u16) -> Result<TcpListener, SimError> {
    let listener: TcpListener = TcpListener::bind(("::", port))
        .or_else(|_| TcpListener::bind(("0.0.0.0", port)))
        .map_err(|source| SimError::Listen { port, source })?;
    listener
        .set_nonblocking(true)
        .map_err(SimError::NonBlocking)?;
    Ok(listener)
}

/// Real-time scheduling keeps the modelled delay accurate on a busy host; it
/// needs CAP_SYS_NICE, and without it the simulator runs at normal priority.
fn try_realtime() -> bool {
    let param: libc::sched_param = libc::sched_param { sched_priority: 10 };
    // SAFETY: param is a valid sched_param; pid 0 is this process.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 }
}

/// Timer wake-ups within a microsecond keep the modelled delay accurate.
fn set_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer argument.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1_000u64, 0u64, 0u64, 0u64) };
}
