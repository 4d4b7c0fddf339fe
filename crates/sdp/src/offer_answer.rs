//! RFC 3264 offer/answer: the per-session state machine [`OfferAnswer`] and the helpers used
//! to build and judge offers and answers (hold and resume §8.4, the direction table §6.1,
//! codec intersection §6.1, rejecting every stream §6).
//!
//! Sans-IO: the SIP layer records each offer and answer as it is sent or received, and maps
//! errors to responses (glare → 491, RFC 3261 §14.1 and RFC 6337 §3.1).

use thiserror::Error;

use crate::description::SessionDescription;
use crate::error::EditError;
use crate::line::{Origin, RawLine};
use crate::media::{Codec, Direction, Media};

/// Where a session is in the offer/answer exchange (RFC 3264 §4, RFC 6337 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferAnswerState {
    /// No offer outstanding; a new offer may be made by either side.
    Stable,
    /// Tandem sent this offer and waits for the answer.
    LocalOffer(SessionDescription),
    /// The peer sent this offer and waits for Tandem's answer.
    RemoteOffer(SessionDescription),
}

/// A protocol violation in the offer/answer exchange. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OfferAnswerError {
    /// An answer with no offer outstanding. Received: the SIP layer answers 488 (or 500) or,
    /// in a 2xx, acknowledges and tears down or re-offers. Sent: API misuse.
    #[error("answer without an outstanding offer")]
    AnswerWithoutOffer,
    /// The peer made an offer while Tandem's own offer is outstanding: glare. The SIP layer
    /// answers 491 and retries after the random delay of RFC 3261 §14.1.
    #[error("offer received while a local offer is outstanding (glare)")]
    Glare,
    /// An offer while the previous offer of the same side, or the peer's offer, is still
    /// unanswered. Received: 500 with Retry-After (RFC 3261 §14.2). Sent: API misuse.
    #[error("offer while another offer is outstanding")]
    OfferPending,
    /// RFC 3264 §6: the answer has exactly one `m=` line per `m=` line of the offer.
    #[error("answer has {answer} m= lines, the offer has {offer}")]
    MediaCountMismatch {
        /// `m=` lines in the offer.
        offer: usize,
        /// `m=` lines in the answer.
        answer: usize,
    },
    /// RFC 3264 §6, §8.2: a stream offered with port 0 stays rejected in the answer.
    #[error("answer activates stream {index}, which the offer disabled with port 0")]
    RejectedStreamActivated {
        /// Position of the `m=` line.
        index: usize,
    },
}

/// The RFC 3264 offer/answer state of one session (one dialog leg).
///
/// Record each offer and answer when it is sent or received; the state machine refuses
/// sequences RFC 3264 and RFC 6337 forbid and keeps the current negotiated descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferAnswer {
    state: OfferAnswerState,
    local: Option<SessionDescription>,
    remote: Option<SessionDescription>,
}

impl Default for OfferAnswer {
    fn default() -> Self {
        Self::new()
    }
}

impl OfferAnswer {
    /// A session with nothing negotiated yet.
    pub fn new() -> Self {
        Self {
            state: OfferAnswerState::Stable,
            local: None,
            remote: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> &OfferAnswerState {
        &self.state
    }

    /// The last negotiated local description (what Tandem sent in the last completed
    /// exchange), or `None` before the first exchange completes.
    pub fn local_description(&self) -> Option<&SessionDescription> {
        self.local.as_ref()
    }

    /// The last negotiated remote description.
    pub fn remote_description(&self) -> Option<&SessionDescription> {
        self.remote.as_ref()
    }

    /// Records an offer Tandem sends.
    pub fn record_local_offer(
        &mut self,
        offer: SessionDescription,
    ) -> Result<(), OfferAnswerError> {
        match self.state {
            OfferAnswerState::Stable => {
                self.state = OfferAnswerState::LocalOffer(offer);
                Ok(())
            }
            _ => Err(OfferAnswerError::OfferPending),
        }
    }

    /// Records an offer received from the peer.
    pub fn record_remote_offer(
        &mut self,
        offer: SessionDescription,
    ) -> Result<(), OfferAnswerError> {
        match self.state {
            OfferAnswerState::Stable => {
                self.state = OfferAnswerState::RemoteOffer(offer);
                Ok(())
            }
            OfferAnswerState::LocalOffer(_) => Err(OfferAnswerError::Glare),
            OfferAnswerState::RemoteOffer(_) => Err(OfferAnswerError::OfferPending),
        }
    }

    /// Records the answer Tandem sends to the peer's offer; the session becomes stable.
    pub fn record_local_answer(
        &mut self,
        answer: SessionDescription,
    ) -> Result<(), OfferAnswerError> {
        let OfferAnswerState::RemoteOffer(offer) = &self.state else {
            return Err(OfferAnswerError::AnswerWithoutOffer);
        };
        check_answer(offer, &answer)?;
        if let OfferAnswerState::RemoteOffer(offer) =
            std::mem::replace(&mut self.state, OfferAnswerState::Stable)
        {
            self.remote = Some(offer);
        }
        self.local = Some(answer);
        Ok(())
    }

    /// Records the answer received to Tandem's offer; the session becomes stable.
    pub fn record_remote_answer(
        &mut self,
        answer: SessionDescription,
    ) -> Result<(), OfferAnswerError> {
        let OfferAnswerState::LocalOffer(offer) = &self.state else {
            return Err(OfferAnswerError::AnswerWithoutOffer);
        };
        check_answer(offer, &answer)?;
        if let OfferAnswerState::LocalOffer(offer) =
            std::mem::replace(&mut self.state, OfferAnswerState::Stable)
        {
            self.local = Some(offer);
        }
        self.remote = Some(answer);
        Ok(())
    }

    /// Withdraws the outstanding offer (re-INVITE refused with 488/491, CANCEL, or no
    /// answer): the session returns to stable with the previous descriptions unchanged
    /// (RFC 3261 §14.1, RFC 6337 §3.1). Returns the withdrawn offer.
    pub fn rollback(&mut self) -> Option<SessionDescription> {
        match std::mem::replace(&mut self.state, OfferAnswerState::Stable) {
            OfferAnswerState::Stable => None,
            OfferAnswerState::LocalOffer(o) | OfferAnswerState::RemoteOffer(o) => Some(o),
        }
    }
}

/// The negotiated state of one stream after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiatedStream {
    /// Port 0 in the offer or the answer: no media flows (RFC 3264 §6).
    Rejected,
    /// Active, with the direction seen from the offerer.
    Active(Direction),
}

/// The per-stream result of an answer to an offer (RFC 3264 §6.1): the offerer sends only
/// where the offer says send and the answer says receive, and the other way round. The
/// result is seen from the offerer; use [`Direction::reversed`] for the answerer.
pub fn negotiated_streams(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Vec<NegotiatedStream>, OfferAnswerError> {
    check_answer(offer, answer)?;
    Ok(offer
        .media_sections()
        .zip(answer.media_sections())
        .map(|(o, a)| {
            if o.is_rejected() || a.is_rejected() {
                return NegotiatedStream::Rejected;
            }
            let (od, ad) = (o.direction(), a.direction().reversed());
            NegotiatedStream::Active(Direction::from_parts(
                od.sends() && ad.sends(),
                od.receives() && ad.receives(),
            ))
        })
        .collect())
}

/// Whether `current` takes the session off hold compared with `previous` (RFC 3264 §8.4).
pub fn is_resume(previous: &SessionDescription, current: &SessionDescription) -> bool {
    previous.is_hold() && !current.is_hold()
}

/// A new offer that holds every active stream (RFC 3264 §8.4): `sendrecv` becomes
/// `sendonly`, `recvonly` becomes `inactive`; the `o=` version is incremented (§8).
pub fn hold_offer(previous: &SessionDescription) -> SessionDescription {
    redirect_offer(previous, |d| Direction::from_parts(d.sends(), false))
}

/// A new offer that resumes every active stream as `sendrecv`, with the `o=` version
/// incremented (RFC 3264 §8).
pub fn resume_offer(previous: &SessionDescription) -> SessionDescription {
    redirect_offer(previous, |_| Direction::SendRecv)
}

/// A codec Tandem can use, for [`answer_formats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecCapability<'a> {
    /// Encoding name, compared case-insensitively (`PCMU`, `opus`, `telephone-event`).
    pub encoding: &'a str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count.
    pub channels: u32,
}

/// The offered codecs of `offer` that Tandem supports, in the offerer's order (RFC 3264
/// §6.1 lets the answerer keep the offerer's preference). Codecs match by encoding name,
/// clock rate and channels. `telephone-event` (RFC 4733 §2.1) is kept when Tandem lists it
/// and its clock rate equals that of a kept codec, whatever rate Tandem listed.
pub fn answer_formats<'a>(offer: &Media<'a>, supported: &[CodecCapability<'_>]) -> Vec<Codec<'a>> {
    let codecs = offer.codecs();
    let kept: Vec<Codec<'a>> = codecs
        .iter()
        .filter(|c| !c.is_telephone_event())
        .filter(|c| {
            supported.iter().any(|s| {
                s.encoding.eq_ignore_ascii_case(c.encoding)
                    && s.clock_rate == c.clock_rate
                    && s.channels == c.channels
            })
        })
        .copied()
        .collect();
    let dtmf = supported
        .iter()
        .any(|s| s.encoding.eq_ignore_ascii_case("telephone-event"));
    codecs
        .into_iter()
        .filter(|c| {
            kept.contains(c)
                || (dtmf
                    && c.is_telephone_event()
                    && kept.iter().any(|k| k.clock_rate == c.clock_rate))
        })
        .collect()
}

/// An answer that rejects every stream of `offer` (RFC 3264 §6: same number of `m=` lines,
/// each with port 0, same media type, proto and formats). Used with a 488, or to refuse an
/// offer inside a 2xx. `origin` is the answerer's `o=` line; its address also fills `c=`.
pub fn rejecting_answer(
    offer: &SessionDescription,
    origin: &Origin<'_>,
) -> Result<SessionDescription, EditError> {
    let mut answer = SessionDescription {
        lines: Vec::new(),
        media_starts: Vec::new(),
    };
    let ending = offer.line_ending();
    let mut push = |text: String| {
        answer.lines.push(RawLine {
            text: text.into_bytes(),
            ending,
        })
    };
    push("v=0".to_owned());
    push("o=- 0 0 IN IP4 0.0.0.0".to_owned());
    push("s=-".to_owned());
    push(format!(
        "c={} {} {}",
        origin.net_type, origin.addr_type, origin.address
    ));
    push("t=0 0".to_owned());
    for m in offer.media_sections() {
        let formats = m.formats().join(" ");
        let sep = if formats.is_empty() { "" } else { " " };
        push(format!(
            "m={} 0 {}{sep}{formats}",
            m.media_type(),
            m.proto()
        ));
    }
    answer.recompute_media_starts();
    answer.set_origin(origin)?;
    Ok(answer)
}

fn check_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<(), OfferAnswerError> {
    if offer.media_count() != answer.media_count() {
        return Err(OfferAnswerError::MediaCountMismatch {
            offer: offer.media_count(),
            answer: answer.media_count(),
        });
    }
    match offer
        .media_sections()
        .zip(answer.media_sections())
        .find(|(o, a)| o.is_rejected() && !a.is_rejected())
    {
        Some((o, _)) => Err(OfferAnswerError::RejectedStreamActivated { index: o.index() }),
        None => Ok(()),
    }
}

fn redirect_offer(
    previous: &SessionDescription,
    f: impl Fn(Direction) -> Direction,
) -> SessionDescription {
    let mut next = previous.clone();
    let active: Vec<(usize, Direction)> = previous
        .media_sections()
        .filter(|m| !m.is_rejected())
        .map(|m| (m.index(), m.direction()))
        .collect();
    for (index, direction) in active {
        // The index comes from the same description, so this cannot fail.
        let _ = next.set_media_direction(index, f(direction));
    }
    next.bump_origin_version();
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdp(media: &str) -> SessionDescription {
        format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media}")
            .parse()
            .unwrap()
    }

    #[test]
    fn state_transitions() {
        let mut oa = OfferAnswer::default();
        let offer = sdp("m=audio 1 RTP/AVP 0\r\n");
        assert_eq!(
            oa.record_local_answer(offer.clone()),
            Err(OfferAnswerError::AnswerWithoutOffer)
        );
        oa.record_local_offer(offer.clone()).unwrap();
        assert_eq!(
            oa.record_local_offer(offer.clone()),
            Err(OfferAnswerError::OfferPending)
        );
        assert_eq!(
            oa.record_remote_offer(offer.clone()),
            Err(OfferAnswerError::Glare)
        );
        assert_eq!(oa.rollback(), Some(offer.clone()));
        assert_eq!(oa.rollback(), None);
        oa.record_remote_offer(offer.clone()).unwrap();
        assert_eq!(
            oa.record_remote_offer(offer.clone()),
            Err(OfferAnswerError::OfferPending)
        );
        assert_eq!(
            oa.record_remote_answer(offer.clone()),
            Err(OfferAnswerError::AnswerWithoutOffer)
        );
        oa.record_local_answer(offer.clone()).unwrap();
        assert_eq!(oa.state(), &OfferAnswerState::Stable);
        assert!(oa.local_description().is_some() && oa.remote_description().is_some());
    }

    #[test]
    fn rejected_stream_stays_rejected() {
        let offer = sdp("m=audio 1 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n");
        let answer = sdp("m=audio 2 RTP/AVP 0\r\nm=video 9 RTP/AVP 31\r\n");
        assert_eq!(
            negotiated_streams(&offer, &answer),
            Err(OfferAnswerError::RejectedStreamActivated { index: 1 })
        );
    }

    #[test]
    fn rejecting_answer_mirrors_offer() {
        let offer = sdp("m=audio 1 RTP/AVP 0 8\r\nm=image 2 udptl t38\r\nm=audio 0 RTP/AVP\r\n");
        let o = Origin {
            username: "tandem",
            session_id: "9",
            session_version: 1,
            net_type: "IN",
            addr_type: "IP4",
            address: "203.0.113.5",
        };
        let answer = rejecting_answer(&offer, &o).unwrap();
        let expected = "v=0\r\no=tandem 9 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\n\
                        t=0 0\r\nm=audio 0 RTP/AVP 0 8\r\nm=image 0 udptl t38\r\nm=audio 0 RTP/AVP\r\n";
        assert_eq!(String::from_utf8(answer.to_bytes()).unwrap(), expected);
        assert_eq!(
            SessionDescription::parse(expected.as_bytes()).unwrap(),
            answer
        );
        let streams = negotiated_streams(&offer, &answer).unwrap();
        assert!(streams.iter().all(|s| *s == NegotiatedStream::Rejected));
        assert!(rejecting_answer(&offer, &Origin { address: "", ..o }).is_err());
    }
}
