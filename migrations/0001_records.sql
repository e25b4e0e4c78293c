-- Milestone rows, the collaborations projection and the notification outbox (docs/architecture.md §2).

CREATE TABLE collaborations (
    collaboration_id text PRIMARY KEY,            -- the first run id of the workflow chain
    workflow_id      text        NOT NULL,
    corporate        text        NOT NULL,
    startup          text        NOT NULL,
    programme        text        NOT NULL,
    sector           text        NOT NULL,
    topic            text        NOT NULL,
    stage            text        NOT NULL,
    stage_since      timestamptz NOT NULL,
    outcome          text,
    stalled          boolean     NOT NULL,
    paused           boolean     NOT NULL,
    started_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_seq         integer     NOT NULL,
    CONSTRAINT collaborations_stage CHECK (stage IN
        ('introduction', 'qualification', 'pilot', 'evaluation', 'deployment')),
    CONSTRAINT collaborations_outcome CHECK (outcome IN ('deployed', 'declined', 'abandoned'))
);
CREATE INDEX collaborations_workflow_id ON collaborations (workflow_id);
CREATE INDEX collaborations_open_stalled ON collaborations (stalled) WHERE outcome IS NULL;

CREATE TABLE milestones (
    collaboration_id text        NOT NULL REFERENCES collaborations,
    seq              integer     NOT NULL CHECK (seq > 0),
    workflow_id      text        NOT NULL,
    run_id           text        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('started', 'stage_changed', 'milestone',
                         'reminder', 'escalation', 'paused', 'resumed', 'snoozed', 'closed')),
    stage            text        NOT NULL,
    to_stage         text,
    outcome          text,
    milestone        text,
    actor            text        NOT NULL,
    note             text        NOT NULL,
    evidence_url     text,
    reminder_number  integer,
    occurred_at      timestamptz NOT NULL,           -- the workflow's time of the event
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collaboration_id, seq)
);
CREATE INDEX milestones_workflow_id ON milestones (workflow_id, seq);

CREATE TABLE notifications (
    idempotency_key  text PRIMARY KEY,
    collaboration_id text        NOT NULL,
    workflow_id      text        NOT NULL,
    event            text        NOT NULL,
    language         text        NOT NULL,
    recipients       jsonb       NOT NULL,
    context          jsonb       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per notification and channel: a channel sends each key at most once.
CREATE TABLE deliveries (
    idempotency_key  text        NOT NULL REFERENCES notifications,
    channel          text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    result           text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (idempotency_key, channel)
);
