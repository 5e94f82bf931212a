-- 0001: initial schema of the ACD store.
-- Applied by acd.store.migrate inside one transaction holding an advisory lock.
-- All times are timestamptz (UTC on the wire); durations are seconds (double precision).

-- One summary row per inbound call, upserted by call_id as the call progresses.
CREATE TABLE call_records (
    call_id          text PRIMARY KEY,
    -- Time of the newest snapshot merged into this row (see CallRecord.as_of).
    as_of            timestamptz NOT NULL,
    trunk            text,
    caller_number    text,
    dialled_number   text,
    queue            text,
    arrived_at       timestamptz,
    queued_at        timestamptz,
    first_offered_at timestamptz,
    answered_at      timestamptz,
    ended_at         timestamptz,
    agent_id         text,
    outcome          text CHECK (outcome IN ('answered', 'abandoned', 'overflowed', 'failed')),
    wait_seconds     double precision CHECK (wait_seconds >= 0),
    talk_seconds     double precision CHECK (talk_seconds >= 0),
    hangup_by        text CHECK (hangup_by IN ('caller', 'agent', 'system')),
    caller_sip_code  integer CHECK (caller_sip_code BETWEEN 100 AND 699),
    agent_sip_code   integer CHECK (agent_sip_code BETWEEN 100 AND 699),
    skills_required  jsonb,
    skills_relaxed   jsonb,
    reason           text,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
-- KPI windows (rolling 24 h, calendar day) scan by arrival time, overall and per queue.
CREATE INDEX call_records_arrived_idx ON call_records (arrived_at);
CREATE INDEX call_records_queue_arrived_idx ON call_records (queue, arrived_at);
CREATE INDEX call_records_agent_answered_idx ON call_records (agent_id, answered_at);
-- Calls still open: what close_orphaned_calls looks for after a restart.
CREATE INDEX call_records_open_idx ON call_records (call_id) WHERE ended_at IS NULL;

-- The journal: an append-only log of what happened, in the spirit of queue_log.
CREATE TABLE queue_events (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL UNIQUE,
    ts          timestamptz NOT NULL,
    call_id     text,
    queue       text,
    agent_id    text,
    event       text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queue_events_ts_idx ON queue_events (ts);
CREATE INDEX queue_events_queue_ts_idx ON queue_events (queue, ts);
CREATE INDEX queue_events_call_idx ON queue_events (call_id, id);
CREATE INDEX queue_events_agent_ts_idx ON queue_events (agent_id, ts);

-- Agent status (chosen) and state (system) as intervals; ended_at NULL = current.
CREATE TABLE agent_state_history (
    change_id   text PRIMARY KEY,
    agent_id    text NOT NULL,
    status      text NOT NULL,
    state       text NOT NULL,
    reason      text,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz CHECK (ended_at IS NULL OR ended_at >= started_at),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_state_history_agent_started_idx
    ON agent_state_history (agent_id, started_at);
CREATE INDEX agent_state_history_started_idx ON agent_state_history (started_at);
CREATE INDEX agent_state_history_open_idx
    ON agent_state_history (agent_id) WHERE ended_at IS NULL;

-- Registrar bindings, so a restarted or standby ACD can rebuild its location service.
CREATE TABLE registrations (
    aor              text NOT NULL,
    contact          text NOT NULL,
    source_transport text,
    source_host      text,
    source_port      integer CHECK (source_port BETWEEN 0 AND 65535),
    user_agent       text,
    call_id          text,
    cseq             bigint,
    expires_at       timestamptz NOT NULL,
    q                real CHECK (q BETWEEN 0 AND 1),
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (aor, contact)
);
CREATE INDEX registrations_expires_idx ON registrations (expires_at);
