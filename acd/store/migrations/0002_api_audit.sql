-- 0002: audit trail of the supervisor API, and where each agent state change came from.
-- Applied by acd.store.migrate inside one transaction holding an advisory lock.

-- Every state-changing API request (any method but GET/HEAD/OPTIONS under /api/v1) made
-- with a known token, accepted or refused. Append-only: written once per audit_id.
CREATE TABLE api_audit (
    id          bigserial PRIMARY KEY,
    audit_id    text NOT NULL UNIQUE,
    ts          timestamptz NOT NULL,
    -- The token's configured name (never its secret); NULL when the API is open
    -- (no tokens configured, loopback only).
    actor       text,
    role        text CHECK (role IN ('read', 'admin')),
    -- "METHOD /path/{template}", e.g. "POST /api/v1/agents/{agent_id}/pause".
    action      text NOT NULL,
    target      text,
    params      jsonb NOT NULL DEFAULT '{}'::jsonb,
    result      text NOT NULL CHECK (result IN ('accepted', 'refused', 'failed')),
    status      integer NOT NULL CHECK (status BETWEEN 100 AND 599),
    -- The problem document's code (unknown_agent, invalid_transition, forbidden ...);
    -- NULL when accepted.
    code        text,
    detail      text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((result = 'accepted') = (code IS NULL))
);
CREATE INDEX api_audit_ts_idx ON api_audit (ts);
CREATE INDEX api_audit_target_idx ON api_audit (target, id);

-- Who or what opened each agent interval: 'api' (actor = token name), 'phone' (feature
-- codes), 'system' (routing, registrations, timers). NULL: recorded before 0002.
-- Adding nullable columns without a default rewrites nothing; the CHECK is NOT VALID
-- because every existing row is NULL (nothing to verify), and new rows are checked.
ALTER TABLE agent_state_history
    ADD COLUMN source text,
    ADD COLUMN actor text,
    ADD CONSTRAINT agent_state_history_source_check
        CHECK (source IN ('api', 'phone', 'system')) NOT VALID;
