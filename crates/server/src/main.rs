//! `tandem`: the SIP back-to-back user agent server.
//!
//! Subcommands: `serve` runs the server; `check-config` checks a TOML file; `sip lint` judges
//! SIP messages the way the server would; `media` runs the media plane's tools on WAV files.

mod api;
mod app;
mod calls;
mod cdr;
mod cli;
mod commands;
mod config;
mod events;
mod http;
mod lint;
mod media;
mod resolve;
mod serve;
mod wall;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => serve::main(args),
        cli::Command::CheckConfig { file } => match config::Config::load(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Sip {
            command: cli::SipCommand::Lint { files },
        } => lint::main(&files),
        cli::Command::Media { command } => media::main(command),
        cli::Command::Cdr {
            command:
                cli::CdrCommand::List {
                    data,
                    limit,
                    since,
                    json,
                },
        } => cdr::list(&data, limit, since, json),
        cli::Command::Cdr {
            command: cli::CdrCommand::Show { id, data, json },
        } => cdr::show(&data, &id, json),
    }
}
