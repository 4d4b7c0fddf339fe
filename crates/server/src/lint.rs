//! `tandem sip lint`: the verdict Tandem gives each file, read as one UDP datagram.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;
use tandem_sip_msg::{Limits, Verdict};

/// Runs the linter over `files`; see [`crate::cli::SipCommand::Lint`] for the output.
pub(crate) fn main(files: &[PathBuf]) -> ExitCode {
    let limits = Limits::default();
    let mut all_ok = true;
    for path in files {
        let bytes = match read_capped(path, limits.max_message_size) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let line = verdict_line(bytes, &limits);
        all_ok &= line == "ok";
        println!("{}: {line}", path.display());
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The text after `PATH: ` for one message.
pub(crate) fn verdict_line(bytes: Bytes, limits: &Limits) -> String {
    match tandem_sip_msg::check_datagram(bytes, limits) {
        Verdict::Accept(_) => "ok".to_owned(),
        Verdict::Reject { status, reason } => format!("{status} {reason}"),
        Verdict::Drop { reason } => format!("drop {reason}"),
    }
}

/// Reads at most `cap + 1` bytes: enough for the size limit to reject a larger file without
/// reading all of it.
fn read_capped(path: &PathBuf, cap: usize) -> std::io::Result<Bytes> {
    let file = std::fs::File::open(path)?;
    let mut data = Vec::new();
    let take = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    file.take(take).read_to_end(&mut data)?;
    Ok(Bytes::from(data))
}
