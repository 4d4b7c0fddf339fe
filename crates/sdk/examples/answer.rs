//! A tiny conference bridge: accepts every incoming call into one room of Tandem's mixer
//! (UCMA's `AudioVideoCall.AcceptAsync()`), so everyone who calls hears everyone else.
//!
//! ```text
//! cargo run -p tandem-sdk --example answer -- LISTEN_ADDR [ROOM] [MAX_CALLS] [RECORDINGS_DIR]
//! cargo run -p tandem-sdk --example answer -- 127.0.0.1:5070 bridge
//! ```
//!
//! Answers the caller's SDP offer (PCMU, PCMA, G.722 or Opus) with an RTP socket of its own
//! on the address it listens on, and mixes the room every 20 ms. With `RECORDINGS_DIR`, the
//! room is recorded to `RECORDINGS_DIR/room_<ROOM>-<n>.wav`. Stops on Ctrl-C, or once
//! `MAX_CALLS` calls have ended. `TANDEM_LOG=debug` shows the SIP stack's logs.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem_sdk::{AcceptOptions, Endpoint, EndpointSettings, IncomingCall};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let Some(listen) = args.next() else {
        eprintln!("usage: answer LISTEN_ADDR [ROOM] [MAX_CALLS] [RECORDINGS_DIR]");
        std::process::exit(2);
    };
    let room = args.next().unwrap_or_else(|| "bridge".to_owned());
    let max_calls: Option<usize> = args.next().map(|n| n.parse()).transpose()?;
    let recordings = args.next();
    init_logs();

    let mut settings = EndpointSettings::new(listen.parse()?);
    if let Some(dir) = recordings {
        settings = settings.with_recordings(dir);
    }
    let endpoint = Endpoint::bind(settings).await?;
    for (transport, addr) in endpoint.local_addrs() {
        println!("listening on {transport} {addr}; every call joins room `{room}`");
    }
    let ended = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let mut incoming = endpoint.incoming_calls();
    loop {
        tokio::select! {
            call = incoming.next() => {
                let Some(call) = call else { break };
                let (room, ended, all_done) =
                    (room.clone(), Arc::clone(&ended), Arc::clone(&all_done));
                tokio::spawn(async move {
                    join(call, room).await;
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

/// One call: accept it into the room and hold it until it ends.
async fn join(call: IncomingCall, room: String) {
    let caller = call.from().to_owned();
    println!("{caller}: incoming call to {}", call.request_uri());
    match call.accept(AcceptOptions::new().room(room.as_str())).await {
        Ok(call) => {
            if let Some(media) = call.media() {
                println!(
                    "{caller}: in room `{room}`, {} from {} to {:?}",
                    media.codec, media.local, media.remote
                );
            }
            // Holding `call` keeps it up; the caller's BYE (or shutdown) ends it.
            let record = call.ended().await;
            println!("{caller}: left ({:?})", record.cause);
        }
        Err(e) => println!("{caller}: not accepted: {e}"),
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
