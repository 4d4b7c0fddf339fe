//! Call screening: callers whose user name (or whole From URI) is not in the allow list are
//! declined with `603 Decline`; the others are forwarded back to back with an extra header
//! (`X-Screened: passed`) and their `Subject` passed through.
//!
//! ```text
//! cargo run -p tandem-sdk --example screening -- LISTEN_ADDR DESTINATION_URI ALLOWED[,ALLOWED...] [MAX_CALLS]
//! cargo run -p tandem-sdk --example screening -- 127.0.0.1:5070 sip:service@127.0.0.1:5080 sipp,alice
//! ```

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem_sdk::{BackToBackCall, CallSettings, Endpoint, EndpointSettings, IncomingCall};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(destination), Some(allowed)) = (args.next(), args.next(), args.next())
    else {
        eprintln!("usage: screening LISTEN_ADDR DESTINATION_URI ALLOWED[,ALLOWED...] [MAX_CALLS]");
        std::process::exit(2);
    };
    let max_calls: Option<usize> = args.next().map(|n| n.parse()).transpose()?;
    let allowed: Arc<Vec<String>> = Arc::new(allowed.split(',').map(str::to_owned).collect());

    let endpoint = Endpoint::bind(EndpointSettings::new(listen.parse()?)).await?;
    println!(
        "screening on {:?}: allowed {allowed:?}",
        endpoint.local_addrs()
    );
    let handled = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let mut incoming = endpoint.incoming_calls();
    loop {
        tokio::select! {
            call = incoming.next() => {
                let Some(call) = call else { break };
                let (destination, allowed) = (destination.clone(), Arc::clone(&allowed));
                let (handled, all_done) = (Arc::clone(&handled), Arc::clone(&all_done));
                tokio::spawn(async move {
                    screen(call, &allowed, destination).await;
                    let n = handled.fetch_add(1, Ordering::SeqCst) + 1;
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
    Ok(())
}

async fn screen(call: IncomingCall, allowed: &[String], destination: String) {
    let from = call.from().to_owned();
    // `sip:alice@example.com` -> `alice`.
    let user = from
        .split_once(':')
        .map_or(from.as_str(), |(_, rest)| rest)
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    if !allowed.iter().any(|a| *a == user || *a == from) {
        println!("{from}: declined");
        if let Err(e) = call.decline(603, "Decline").await {
            println!("{from}: decline failed: {e}");
        }
        return;
    }
    let b2b = BackToBackCall::new(
        CallSettings::incoming(call).with_pass_through_header_names(["Subject"]),
        CallSettings::outgoing(destination).with_header("X-Screened", "passed"),
    );
    match b2b.establish().await {
        Ok(()) => println!("{from}: connected"),
        Err(e) => println!("{from}: not connected: {e}"),
    }
    println!("{from}: ended ({:?})", b2b.ended().await.cause);
}
