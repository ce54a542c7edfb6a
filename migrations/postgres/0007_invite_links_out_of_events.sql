-- Invitation links written into `user.invited` event payloads before links
-- were kept out of events: take them out, so a token with the `events`
-- scope cannot read a link that is still valid after the upgrade.
UPDATE outbox SET payload = (payload::jsonb - 'inviteLink')::text
 WHERE kind = 'user.invited' AND payload::jsonb ? 'inviteLink';
