-- Version 8: a deleted fax (crypto-shredded by its owner, an admin's
-- force-expiry or the retention purge) now loses its per-user read state
-- (fax_reads) and its call traces (attempt_traces) in the transaction
-- that marks it deleted. This removes the rows that faxes deleted before
-- this version left behind. From this version attempt_traces also holds
-- inbound calls' traces (n = 1, the received fax's one attempt): no
-- schema change. IDs only, no PHI.

DELETE FROM fax_reads WHERE NOT EXISTS (SELECT 1 FROM faxes f WHERE f.id = fax_reads.fax_id AND f.deleted = 0);
DELETE FROM attempt_traces WHERE NOT EXISTS (SELECT 1 FROM faxes f WHERE f.id = attempt_traces.fax_id AND f.deleted = 0);
