-- What the customer answered on the refresh page (location or address,
-- device, peripherals, software), as JSON: shown to approvers and staff.
ALTER TABLE refresh_tickets ADD COLUMN wizard_answers TEXT;
