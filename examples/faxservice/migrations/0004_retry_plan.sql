-- Version 4: what each attempt was asked to do, for the retry ladder: the
-- page it started from (a partial delivery is resent from the first page
-- not confirmed), the bit rate cap and whether ECM was turned off.
-- faxes.pages_sent now counts the leading pages confirmed over all
-- attempts.

ALTER TABLE attempts ADD COLUMN first_page INTEGER NOT NULL DEFAULT 1;
ALTER TABLE attempts ADD COLUMN max_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN ecm_off INTEGER NOT NULL DEFAULT 0;
