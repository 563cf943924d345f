//! RecordIO framing and the agent API's content negotiation for streams.

use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, http::HeaderValue::from_static(value));
    }
    map
}

/// Records split back as framed; a bad length or a truncated record is an error.
#[test]
fn recordio_round_trip_and_errors() {
    let mut body = record(b"hello").to_vec();
    body.extend_from_slice(&record(b""));
    body.extend_from_slice(&record(b"x\ny"));
    assert_eq!(split_records(&body).unwrap(), vec![&b"hello"[..], b"", b"x\ny"]);
    assert!(split_records(b"5\nabc").is_err());
    assert!(split_records(b"five\nabcde").is_err());
    assert!(split_records(b"12").is_err());
    assert!(split_records(b"999999999999999999999\n").is_err());
}

/// Mesos's negotiation: a stream needs its Message-* header, and non-streams must not
/// carry one.
#[test]
fn negotiation() {
    let plain = negotiate(&headers(&[("Content-Type", JSON)])).unwrap();
    assert_eq!(
        (plain.content, plain.streamed_content, plain.streamed_accept),
        (Encoding::Json, false, false)
    );
    let out = negotiate(&headers(&[
        ("Content-Type", JSON),
        ("Accept", RECORDIO),
        (MESSAGE_ACCEPT, PROTOBUF),
    ]))
    .unwrap();
    assert_eq!((out.accept, out.streamed_accept), (Encoding::Protobuf, true));
    let input =
        negotiate(&headers(&[("Content-Type", RECORDIO), (MESSAGE_CONTENT_TYPE, JSON)])).unwrap();
    assert!(input.streamed_content);
    let code = |pairs: &[(&'static str, &'static str)]| negotiate(&headers(pairs)).unwrap_err().0;
    assert_eq!(code(&[]), 400);
    assert_eq!(code(&[("Content-Type", RECORDIO)]), 400);
    assert_eq!(code(&[("Content-Type", "text/plain")]), 415);
    assert_eq!(code(&[("Content-Type", JSON), (MESSAGE_CONTENT_TYPE, JSON)]), 415);
    assert_eq!(code(&[("Content-Type", JSON), ("Accept", "text/html")]), 406);
    assert_eq!(code(&[("Content-Type", JSON), (MESSAGE_ACCEPT, JSON)]), 406);
}

/// An ATTACH_CONTAINER_INPUT body: the container first, then stdin, a window size and
/// end of file; anything else first is refused.
#[test]
fn attach_input_body() {
    let first = r#"{"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{"type":"CONTAINER_ID","container_id":{"value":"c","parent":{"value":"p"}}}}"#;
    let data = r#"{"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{"type":"PROCESS_IO","process_io":{"type":"DATA","data":{"type":"STDIN","data":"aGk="}}}}"#;
    let tty = r#"{"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{"type":"PROCESS_IO","process_io":{"type":"CONTROL","control":{"type":"TTY_INFO","tty_info":{"window_size":{"rows":24,"columns":80}}}}}}"#;
    let eof = r#"{"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{"type":"PROCESS_IO","process_io":{"type":"DATA","data":{"type":"STDIN","data":""}}}}"#;
    let body: Vec<u8> =
        [first, data, tty, eof].iter().flat_map(|r| record(r.as_bytes()).to_vec()).collect();
    let parsed = parse_attach_input(Encoding::Json, &body).unwrap();
    assert_eq!(parsed.container_id.to_string(), "p.c");
    assert_eq!(
        parsed.inputs,
        vec![Input::Stdin(b"hi".to_vec()), Input::WindowSize(24, 80), Input::Eof]
    );
    let wrong_first: Vec<u8> = record(data.as_bytes()).to_vec();
    assert!(parse_attach_input(Encoding::Json, &wrong_first).is_err());
    assert!(parse_attach_input(Encoding::Json, b"").is_err());
}

/// The streaming decoder finds the same records whatever pieces the body arrives in
/// (one byte at a time here), and refuses a bad or oversized length as soon as it
/// sees one.
#[test]
fn record_decoder_takes_any_pieces() {
    let mut body = record(b"hello").to_vec();
    body.extend_from_slice(&record(b""));
    body.extend_from_slice(&record(b"x\ny"));
    let mut decoder = RecordDecoder::default();
    let mut found = Vec::new();
    for byte in &body {
        decoder.feed(std::slice::from_ref(byte));
        while let Some(record) = decoder.next_record().unwrap() {
            found.push(record);
        }
    }
    assert_eq!(found, vec![b"hello".to_vec(), Vec::new(), b"x\ny".to_vec()]);
    assert!(decoder.is_empty());

    let mut partial = RecordDecoder::default();
    partial.feed(b"5\nabc");
    assert_eq!(partial.next_record().unwrap(), None, "waits for the rest");
    assert!(!partial.is_empty());
    let mut garbage = RecordDecoder::default();
    garbage.feed(b"five\n");
    assert!(garbage.next_record().is_err());
    let mut endless = RecordDecoder::default();
    endless.feed(&[b'1'; 21]);
    assert!(endless.next_record().is_err(), "no newline after 20 digits");
    let mut huge = RecordDecoder::default();
    huge.feed(format!("{}\n", MAX_INPUT_RECORD_BYTES + 1).as_bytes());
    assert!(huge.next_record().is_err(), "over the bound before its bytes arrive");
}
