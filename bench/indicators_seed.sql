-- The indicator benchmark's data (docs/indicators.md): after 'manage.py migrate' and
-- 'manage.py seed_demo --dossiers 30' (1 province, 3 communes with ids 2-4, 17 procedures, the
-- supervisor account), ~1,000,000 dossiers over two years, mostly finished, 4 % open.
-- psql -d <db> -f bench/indicators_seed.sql; then manage.py rebuild_indicators.
-- ~1,000,000 dossiers over two years, 3 communes, 17 procedures, mostly finished.
\timing on
INSERT INTO dossiers_dossier (
  code, applicant, form_data, channel, status, version, created_at, submitted_at, received_at,
  clock_started_at, due_at, original_due_at, resolved_at, returned_at, closed_at, outcome,
  result_delivery, supplement_return_status, requested_documents, supplement_requests,
  rescheduled_at, lookup_key, rating, rating_comment, rated_at, event_seq, audit_head,
  applicant_user_id, assignee_id, competent_agency_id, receiving_agency_id, procedure_id,
  client_token, search_text, resolution_working_seconds, external_ref, sent_by_id)
SELECT
  'B' || i, '{}'::jsonb, '{}'::jsonb, ch, st, 1, t, t,
  CASE WHEN st IN ('submitted','refused') THEN NULL ELSE t + interval '1 hour' END,
  CASE WHEN st IN ('submitted','refused') THEN NULL ELSE t + interval '1 hour' END,
  CASE WHEN st IN ('submitted','refused') THEN NULL ELSE t + interval '1 hour' + limit_d END,
  CASE WHEN st IN ('submitted','refused') THEN NULL ELSE t + interval '1 hour' + limit_d END,
  CASE WHEN st IN ('resolved','returned','awaiting_payment') THEN t + interval '1 hour' + took END,
  CASE WHEN st = 'returned' THEN t + interval '1 hour' + took + interval '20 hours' END,
  CASE WHEN st IN ('returned','withdrawn','refused','stopped') THEN t + interval '1 hour' + took + interval '20 hours' END,
  CASE WHEN st IN ('resolved','returned','awaiting_payment') THEN 'granted' ELSE '' END,
  CASE WHEN st = 'returned' THEN (ARRAY['electronic','counter','post','electronic'])[1 + (i % 4)] ELSE '' END,
  '', '[]'::jsonb, CASE WHEN r2 < 0.85 THEN 0 WHEN r2 < 0.96 THEN 1 ELSE 2 END,
  NULL, 'X', rt, '', CASE WHEN rt <> '' THEN t + interval '1 hour' + took + interval '22 hours' END,
  0, '', NULL, NULL, ag, ag, pr, '', '',
  CASE WHEN st IN ('resolved','returned','awaiting_payment') THEN (3600 + r3 * 400000)::int END,
  '', NULL
FROM (
  SELECT i, t, ch, st, ag, pr, r2, r3, limit_d, took,
         CASE WHEN st = 'returned' AND r3 < 0.3 THEN (ARRAY['very_satisfied','satisfied','satisfied','unsatisfied'])[1 + (i % 4)] ELSE '' END AS rt
  FROM (
    SELECT i, ch, ag, pr, r2, r3, limit_d, took,
      CASE WHEN open_ THEN now() - (random() * interval '40 days') ELSE t0 END AS t,
      CASE WHEN open_ THEN (ARRAY['received','processing','processing','pending_approval','supplement_requested','awaiting_payment','submitted'])[1 + (i % 7)]
           WHEN r1 < 0.015 THEN 'withdrawn' WHEN r1 < 0.025 THEN 'refused' WHEN r1 < 0.03 THEN 'stopped'
           WHEN t0 > now() - interval '10 days' THEN 'resolved' ELSE 'returned' END AS st
    FROM (
      SELECT i,
        timestamptz '2024-12-31 17:00+00' + random() * (now() - timestamptz '2024-12-31 17:00+00') AS t0,
        (ARRAY[1,2,2,2,4,5,3,1])[1 + (i % 8)] AS ch,
        2 + (i % 3) AS ag, 1 + ((i / 3) % 17) AS pr,
        random() AS r1, random() AS r2, random() AS r3,
        (3 + (i % 13)) * interval '1 day' AS limit_d,
        (random() * 18 + 0.2) * interval '1 day' AS took,
        (i % 100) < 4 AS open_
      FROM generate_series(1, 1000000) AS i
    ) a
  ) b
) c;
ANALYZE dossiers_dossier;
SELECT status, count(*) FROM dossiers_dossier GROUP BY 1 ORDER BY 2 DESC;

-- Variant: 100 communes (97 more, dossiers spread over them by id).
/*
INSERT INTO dossiers_agency (code, name, level, parent_id, address, phone, email, one_stop_unit, administrative_code, code_is_fictitious, place_name, office_hours, bank_account_number, bank_name, bank_beneficiary)
SELECT lpad(g::text, 3, '0') || '.00.99.H27', 'UBND xã thử ' || g, 'commune', 1, '', '', '', '', '', true, '', '', '', '', ''
FROM generate_series(4, 100) g;
UPDATE dossiers_dossier d SET receiving_agency_id = a.id, competent_agency_id = a.id
FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM dossiers_agency WHERE parent_id = 1) a
WHERE a.n = d.id % 100;
VACUUM ANALYZE dossiers_dossier;
SELECT count(DISTINCT receiving_agency_id) FROM dossiers_dossier;
*/
