//! Forwards every incoming call back to back to one destination, printing state changes:
//! the seed's first scenario (UCMA's `BackToBackCall`) as a program.
//!
//! ```text
//! cargo run -p tandem-sdk --example back_to_back -- LISTEN_ADDR DESTINATION_URI [MAX_CALLS]
//! cargo run -p tandem-sdk --example back_to_back -- 127.0.0.1:5070 sip:service@127.0.0.1:5080
//! ```
//!
//! Stops on Ctrl-C, or once `MAX_CALLS` calls have ended. `TANDEM_LOG=debug` shows the SIP
//! stack's logs.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem_sdk::{BackToBackCall, CallSettings, Endpoint, EndpointSettings, IncomingCall};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(destination)) = (args.next(), args.next()) else {
        eprintln!("usage: back_to_back LISTEN_ADDR DESTINATION_URI [MAX_CALLS]");
        std::process::exit(2);
    };
    let max_calls: Option<usize> = args.next().map(|n| n.parse()).transpose()?;
    init_logs();

    let endpoint = Endpoint::bind(EndpointSettings::new(listen.parse()?)).await?;
    for (transport, addr) in endpoint.local_addrs() {
        println!("listening on {transport} {addr}, forwarding to {destination}");
    }
    let ended = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let mut incoming = endpoint.incoming_calls();
    loop {
        tokio::select! {
            call = incoming.next() => {
                let Some(call1) = call else { break };
                let (destination, ended, all_done) =
                    (destination.clone(), Arc::clone(&ended), Arc::clone(&all_done));
                tokio::spawn(async move {
                    forward(call1, destination).await;
                    let n = ended.fetch_add(1, Ordering::SeqCst) + 1;
                    if max_calls.is_some_and(|max| n >= max) {
                        all_done.notify_one();
                    }
                });
            }
            () = all_done.notified() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    endpoint.shutdown().await?;
    println!("{} calls handled", ended.load(Ordering::SeqCst));
    Ok(())
}

/// One call: connect it back to back and follow it to its end.
async fn forward(call1: IncomingCall, destination_uri: String) {
    let caller = call1.from().to_owned();
    println!("{caller}: incoming call to {}", call1.request_uri());
    let b2b = BackToBackCall::new(
        CallSettings::incoming(call1),
        CallSettings::outgoing(destination_uri),
    );
    let mut changes = b2b.state_changed();
    let who = caller.clone();
    let printer = tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            println!("{who}: {:?} -> {:?}", change.previous, change.state);
        }
    });
    match b2b.establish().await {
        Ok(()) => println!("{caller}: connected"),
        Err(e) => println!("{caller}: not connected: {e}"),
    }
    let record = b2b.ended().await;
    println!("{caller}: ended ({:?})", record.cause);
    let _ = printer.await;
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
