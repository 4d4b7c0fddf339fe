//! Errors of the endpoint's commands: a caller's misuse, never the network's fault.

use tandem_sip_msg::EditError;

/// Why [`Endpoint::send_request`](crate::Endpoint::send_request),
/// [`cancel`](crate::Endpoint::cancel) or [`send_ack`](crate::Endpoint::send_ack) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The message is a response.
    #[error("not a request")]
    NotARequest,
    /// ACK for a 2xx is sent with `send_ack`, outside any transaction (§17.1.1.3).
    #[error("ACK is sent with send_ack, not in a transaction")]
    AckNeedsNoTransaction,
    /// The transaction id is unknown or the transaction has ended.
    #[error("no such transaction")]
    NoSuchTransaction,
    /// Only an INVITE can be cancelled.
    #[error("only INVITE transactions can be cancelled")]
    NotAnInvite,
    /// §9.1: CANCEL only after a provisional response and before a final one.
    #[error("CANCEL is allowed only after a provisional and before a final response")]
    CancelNotAllowed,
    /// [`send_request_to_targets`](crate::Endpoint::send_request_to_targets) got no target.
    #[error("no target to send to")]
    NoTarget,
    /// The message could not be edited (a header value with a line break, ...).
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// Why [`Endpoint::respond`](crate::Endpoint::respond) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespondError {
    /// The message is a request.
    #[error("not a response")]
    NotAResponse,
    /// The transaction id is unknown or the transaction has ended.
    #[error("no such transaction")]
    NoSuchTransaction,
    /// A final response was already sent in this transaction (§17.2).
    #[error("a final response was already sent")]
    AlreadyFinal,
    /// `respond_reliably` takes a 101-199 to an INVITE still in Proceeding (RFC 3262 §3).
    #[error("only a 101-199 to a pending INVITE can be sent reliably")]
    NotReliable,
    /// `100rel` is not in the endpoint's supported options, or the INVITE named it in
    /// neither Supported nor Require (RFC 3262 §3).
    #[error("the INVITE did not offer 100rel, or the endpoint does not support it")]
    No100rel,
    /// An earlier reliable provisional response of the transaction awaits its PRACK.
    #[error("a reliable provisional response is still unacknowledged")]
    PrackPending,
    /// The message could not be edited.
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// Why [`Endpoint::send_in_dialog`](crate::Endpoint::send_in_dialog),
/// [`dialog_request`](crate::Endpoint::dialog_request) or
/// [`ack_2xx`](crate::Endpoint::ack_2xx) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// The dialog id is unknown or the dialog has terminated.
    #[error("no such dialog")]
    NoSuchDialog,
    /// The message is a response.
    #[error("not a request")]
    NotARequest,
    /// ACK for a 2xx is sent with `ack_2xx`, CANCEL with `cancel` (§12.2.1.1 excludes both
    /// from the dialog's CSeq space).
    #[error("ACK is sent with ack_2xx and CANCEL with cancel")]
    WrongMethod,
    /// §14.1: no new INVITE while another INVITE transaction of the dialog is in progress in
    /// either direction.
    #[error("an INVITE transaction is already in progress in this dialog")]
    InviteInProgress,
    /// §15: the callee must not send BYE on an early dialog (it answers the INVITE instead).
    #[error("the UAS may not send BYE on an early dialog")]
    EarlyBye,
    /// `notify_refer` on a dialog in which no REFER arrived (RFC 3515 §2.4.4).
    #[error("no REFER was received in this dialog")]
    NoRefer,
    /// `prack_with_answer` on a dialog whose reliable provisional carried no offer awaiting
    /// an answer (RFC 3262 §5).
    #[error("no offer in a reliable provisional response awaits an answer")]
    NoOfferPending,
    /// The message could not be edited.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The transaction layer refused the request.
    #[error(transparent)]
    Send(#[from] SendError),
}
