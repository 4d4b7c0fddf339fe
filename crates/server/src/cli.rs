//! Command-line interface (clap). Usage errors exit with status 2.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tandem: a SIP back-to-back user agent server for contact centers.
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server (embedded defaults when no file is given).
    Serve(ServeArgs),
    /// Check a configuration file; every error names its key and line.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
    /// SIP tools.
    Sip {
        #[command(subcommand)]
        command: SipCommand,
    },
    /// Media tools: the real media path run on WAV files.
    Media {
        #[command(subcommand)]
        command: MediaCommand,
    },
    /// Call detail records written by `tandem serve` (read while it runs, or after).
    Cdr {
        #[command(subcommand)]
        command: CdrCommand,
    },
}

/// `tandem cdr ...`
#[derive(Debug, Subcommand)]
pub(crate) enum CdrCommand {
    /// The newest calls first: id, start, kind, talk time, state, final status, cause, parties.
    List {
        /// The data folder `tandem serve` was given.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// At most this many calls.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only calls started at or after this RFC 3339 time, e.g. 2026-11-28T09:00:00Z.
        #[arg(long, value_parser = parse_time)]
        since: Option<tandem_store::Timestamp>,
        /// JSON (an array of calls with their legs) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One call and its legs.
    Show {
        /// The call's id (first column of `tandem cdr list`), or the SIP Call-ID of either
        /// of its legs (as a SIP trace shows it).
        id: String,
        /// The data folder `tandem serve` was given.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `tandem media ...`
#[derive(Debug, Subcommand)]
pub(crate) enum MediaCommand {
    /// Mix WAV files through the real path: encode, RTP, a simulated network with jitter and
    /// loss, jitter buffer, decode, conference mixer. Writes the mix a silent listener hears.
    Mix {
        /// Codec of every leg.
        #[arg(long, value_enum)]
        codec: CodecArg,
        /// Extra network delay drawn uniformly from 0..=MS per packet.
        #[arg(long, default_value_t = 0)]
        jitter: u32,
        /// Packets lost, in percent.
        #[arg(long, default_value_t = 0.0)]
        loss: f64,
        /// Seed of the simulated network (same seed, same output).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Input WAV files (any rate, mono or stereo).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output WAV file (mono, the codec's rate).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Print the DTMF digits found in a WAV file, in order, on one line.
    DtmfDetect {
        /// Input WAV file.
        input: PathBuf,
    },
    /// Write DTMF tones (80 ms each, 80 ms apart) to a WAV file.
    DtmfGenerate {
        /// Digits: 0-9, *, #, A-D.
        digits: String,
        /// Output WAV file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Sample rate of the output.
        #[arg(long, default_value_t = 8000)]
        rate: u32,
    },
}

/// Codecs `tandem media mix` offers.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CodecArg {
    /// G.711 μ-law, 8 kHz.
    Pcmu,
    /// G.711 A-law, 8 kHz.
    Pcma,
    /// G.722, 16 kHz.
    G722,
    /// Opus, 48 kHz.
    Opus,
}

/// `tandem serve` flags; each overrides the configuration file.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// SIP listen address (UDP and TCP), e.g. 127.0.0.1:5060.
    #[arg(long)]
    pub(crate) sip: Option<SocketAddr>,
    /// HTTP listen address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub(crate) http: Option<SocketAddr>,
    /// Folder for state (database, recordings).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
}

/// `tandem sip ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SipCommand {
    /// Judge each file as one SIP message carried in one UDP datagram.
    ///
    /// Prints `PATH: ok`, `PATH: <status> <reason>` for a request Tandem would reject, or
    /// `PATH: drop <reason>` for a response it would discard. Exit status: 0 when all are ok,
    /// 1 when any is not, 2 on a usage error (such as an unreadable file).
    Lint {
        /// Message files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `--since`: an RFC 3339 time.
fn parse_time(text: &str) -> Result<tandem_store::Timestamp, String> {
    tandem_store::Timestamp::parse_rfc3339(text)
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 time such as 2026-11-28T09:00:00Z"))
}
