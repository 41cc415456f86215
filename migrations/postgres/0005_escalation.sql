-- The client-response target of a service ticket (business hours, moved by
-- holds) and when the client was first answered: the SLA state /ticket and
-- the API show.
ALTER TABLE service_tickets ADD COLUMN response_due_at BIGINT;
ALTER TABLE service_tickets ADD COLUMN responded_at BIGINT;
