//! `tandem media ...`: the media plane's tools on WAV files.

use std::process::ExitCode;

use tandem_media::codec::CodecKind;
use tandem_media::tools;

use crate::cli::{CodecArg, MediaCommand};

/// Runs one media subcommand. Exit status 1 on any error (the message says which).
pub(crate) fn main(command: MediaCommand) -> ExitCode {
    let result = match command {
        MediaCommand::Mix {
            codec,
            jitter,
            loss,
            seed,
            inputs,
            output,
        } => {
            let codec = match codec {
                CodecArg::Pcmu => CodecKind::Pcmu,
                CodecArg::Pcma => CodecKind::Pcma,
                CodecArg::G722 => CodecKind::G722,
                CodecArg::Opus => CodecKind::Opus,
            };
            tools::mix_files(&inputs, codec, jitter, loss, seed, &output).map(|r| {
                println!(
                    "{}: {} ms at {} Hz; {} packets sent, {} lost, {} frames concealed",
                    output.display(),
                    r.duration_ms,
                    r.output_rate,
                    r.packets_sent,
                    r.packets_dropped,
                    r.frames_concealed
                );
            })
        }
        MediaCommand::DtmfDetect { input } => {
            tools::detect_dtmf_file(&input).map(|digits| println!("{digits}"))
        }
        MediaCommand::DtmfGenerate {
            digits,
            output,
            rate,
        } => tools::generate_dtmf_file(&digits, &output, rate),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem media: {e}");
            ExitCode::FAILURE
        }
    }
}
