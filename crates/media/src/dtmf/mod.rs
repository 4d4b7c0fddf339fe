//! DTMF: RFC 4733 telephone events ([`rfc4733`]), in-band detection with the Goertzel
//! algorithm ([`goertzel`]) and tone generation ([`generate`]).

pub mod generate;
pub mod goertzel;
pub mod rfc4733;

/// The 16 DTMF digits in RFC 4733 §3.2 event-code order (events 0–15).
pub const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// Row (low group) frequencies in Hz (ITU-T Q.23).
pub const ROW_HZ: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column (high group) frequencies in Hz (ITU-T Q.23).
pub const COL_HZ: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Keypad layout by row and column.
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// The RFC 4733 event code of a digit (case-insensitive for A–D).
pub fn event_code(digit: char) -> Option<u8> {
    let d = digit.to_ascii_uppercase();
    DIGITS.iter().position(|&c| c == d).map(|i| i as u8)
}

/// The digit of an RFC 4733 event code 0–15.
pub fn digit_of(code: u8) -> Option<char> {
    DIGITS.get(usize::from(code)).copied()
}

/// Row and column frequencies of a digit (ITU-T Q.23).
pub fn frequencies(digit: char) -> Option<(f64, f64)> {
    let d = digit.to_ascii_uppercase();
    KEYPAD.iter().enumerate().find_map(|(r, row)| {
        row.iter()
            .position(|&c| c == d)
            .map(|c| (ROW_HZ[r], COL_HZ[c]))
    })
}

fn keypad(row: usize, col: usize) -> char {
    KEYPAD[row][col]
}
