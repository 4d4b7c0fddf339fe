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
