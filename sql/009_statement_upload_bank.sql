-- Statements uploaded over the API carry the bank that sent them; a bank sees only its own.
ALTER TABLE statement_uploads ADD COLUMN bank_code text REFERENCES banks (code);
CREATE INDEX statement_uploads_bank ON statement_uploads (bank_code, id);
