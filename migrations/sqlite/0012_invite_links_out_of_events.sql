-- Invitation links written into `user.invited` event payloads before links
-- were kept out of events: take them out, so a token with the `events`
-- scope cannot read a link that is still valid after the upgrade.
UPDATE outbox SET payload = json_remove(payload, '$.inviteLink')
 WHERE kind = 'user.invited' AND json_extract(payload, '$.inviteLink') IS NOT NULL;
