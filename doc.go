// Package faxkit is an embeddable fax transport library: ITU-T T.4/T.6 image
// coding, TIFF Class F documents, the T.30 fax protocol, T.38 fax over IP and
// HIPAA technical safeguards for the patient data that faxes carry.
//
// The library is a pipeline of small packages, each usable on its own:
//
//	t4         MH, MR (T.4) and MMR (T.6) codecs and the packed bilevel page type
//	tiff       multi-page TIFF Class F files; ordinary images turned into fax pages
//	t30        the T.30 session engine: negotiation, training, ECM, page transfer
//	t38        T.38 IFP packets, UDPTL with redundancy and FEC, SDP attributes
//	transport  UDP and RTP plumbing around a fax session
//	phi        encryption at rest, tamper-evident audit, access control, redaction
//
// This root package is where the high-level Send and Receive calls live once
// the pieces below them are complete; see the README for what is done today.
package faxkit
