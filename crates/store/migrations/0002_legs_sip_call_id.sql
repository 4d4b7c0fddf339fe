-- Operators look calls up by the Call-ID they see in a SIP trace (`tandem cdr show CALL-ID`).
CREATE INDEX legs_sip_call_id ON legs (sip_call_id);
