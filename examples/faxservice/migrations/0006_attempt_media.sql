-- Version 6: the media each attempt's fax ran on last, "t38" or "audio"
-- (a SIP call whose switch to T.38 was refused, or with the T.38 policy
-- off, runs as an audio fax); empty when no fax media ran (the call was
-- not answered) and for attempts recorded before this version.

ALTER TABLE attempts ADD COLUMN media TEXT NOT NULL DEFAULT '';
