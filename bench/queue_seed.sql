-- ~1M dossiers (3 communes ~310k each, 100 small communes ~700 each; 30% decided by the
-- province; ~5% open), ~5M events, 1M access-log reads. Run after `migrate` and
-- `seed_demo --dossiers 60` (agencies, accounts, procedures):
--   psql -h 127.0.0.1 -U postgres DB -v ON_ERROR_STOP=1 -f bench/queue_seed.sql
-- (about 40 minutes on the shared 2-core machine, most of it the events' indexes).
\timing on
SET synchronous_commit = off;
-- 100 small communes under the province
INSERT INTO dossiers_agency (code, name, one_stop_unit, level, parent_id, address, phone, email, administrative_code, code_is_fictitious, place_name, office_hours, bank_account_number, bank_name, bank_beneficiary)
SELECT format('000.%s.%s.H27', lpad((10 + g / 100)::text, 2, '0'), lpad((g % 100)::text, 2, '0')),
       'Xã thử ' || g, '', 'commune', 1, '', '', '', '', true, '', '', '', '', ''
FROM generate_series(0, 99) g;


CREATE TEMP TABLE small AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, code FROM dossiers_agency WHERE code LIKE '000.1_.__.H27';
CREATE TEMP TABLE ag AS SELECT id, code FROM dossiers_agency;

CREATE TEMP TABLE base AS
SELECT i,
  CASE WHEN i % 100 < 93 THEN (ARRAY[2,3,4])[1 + i % 3]
       ELSE (SELECT id FROM small WHERE k = (i / 100) % 100) END AS recv,
  (i * 13) % 10 < 3 AS to_province,
  (i * 7919) % 1000 AS r,
  ((i::bigint * 2654435761) % 1000003)::float / 1000003 AS u
FROM generate_series(1::bigint, 1000000) i;

CREATE TEMP TABLE d0 AS
SELECT i, recv, CASE WHEN to_province THEN 1 ELSE recv END AS comp, u,
  CASE WHEN r < 10 THEN 'submitted' WHEN r < 15 THEN 'received' WHEN r < 30 THEN 'processing'
       WHEN r < 35 THEN 'pending_approval' WHEN r < 42 THEN 'supplement_requested'
       WHEN r < 47 THEN 'resolved' WHEN r < 50 THEN 'awaiting_payment' WHEN r < 52 THEN 'draft'
       WHEN r < 92 THEN 'refused' WHEN r < 122 THEN 'withdrawn' WHEN r < 142 THEN 'stopped'
       ELSE 'returned' END AS status
FROM base;

CREATE TEMP TABLE d1 AS
SELECT d0.*,
  CASE WHEN status IN ('returned','refused','withdrawn','stopped')
       THEN now() - interval '1000 days' * (1 - u) - interval '12 days'
       ELSE now() - interval '15 days' * u END AS created
FROM d0;

INSERT INTO dossiers_dossier (code, applicant, form_data, channel, status, version, created_at, submitted_at,
  received_at, clock_started_at, due_at, original_due_at, resolved_at, returned_at, closed_at, outcome,
  result_delivery, supplement_return_status, requested_documents, supplement_requests, rescheduled_at,
  lookup_key, rating, rating_comment, rated_at, event_seq, audit_head, applicant_user_id, assignee_id,
  competent_agency_id, receiving_agency_id, procedure_id, client_token, search_text,
  resolution_working_seconds, external_ref, sent_by_id)
SELECT
  CASE WHEN status = 'draft' THEN NULL ELSE a.code || '-' || to_char(created, 'YYMMDD') || '-' || lpad(i::text, 7, '0') END,
  jsonb_build_object('full_name', nm.full_name, 'id_number', '031' || lpad(i::text, 9, '0'), 'phone', '09' || lpad(i::text, 8, '0'), 'email', '', 'address', 'Thôn ' || (i % 20), 'date_of_birth', ''),
  '{}'::jsonb, 1 + i % 2, status, 0, created,
  CASE WHEN status = 'draft' THEN NULL ELSE created END,
  CASE WHEN status IN ('draft','submitted') THEN NULL ELSE created + interval '1 hour' END,
  CASE WHEN status IN ('draft','submitted') THEN NULL ELSE created + interval '1 hour' END,
  CASE WHEN status IN ('draft','submitted','refused') THEN NULL ELSE created + interval '10 days' END,
  CASE WHEN status IN ('draft','submitted','refused') THEN NULL ELSE created + interval '10 days' END,
  CASE WHEN status IN ('resolved','returned') THEN created + interval '8 days' END,
  CASE WHEN status = 'returned' THEN created + interval '9 days' END,
  CASE WHEN status IN ('returned','refused','withdrawn','stopped') THEN created + interval '9 days' END,
  CASE WHEN status IN ('resolved','returned') THEN 'granted' ELSE '' END,
  '', '', '[]'::jsonb, 0, NULL, upper(substr(md5(i::text), 1, 10)), '', '', NULL, 5, '',
  CASE WHEN status = 'draft' THEN 2 END,
  CASE WHEN status IN ('processing','pending_approval','supplement_requested','resolved','returned','awaiting_payment')
       THEN CASE recv WHEN 2 THEN 5 WHEN 3 THEN 8 WHEN 4 THEN 10 END END,
  comp, recv, 1 + i % 17, '',
  lower(coalesce(CASE WHEN status = 'draft' THEN NULL ELSE a.code || '-' || to_char(created, 'YYMMDD') || '-' || lpad(i::text, 7, '0') END, ''))
    || CASE WHEN status = 'draft' THEN '' ELSE ' ' END || nm.plain || ' 031' || lpad(i::text, 9, '0'),
  NULL, '', NULL
FROM d1 JOIN ag a ON a.id = d1.recv
CROSS JOIN LATERAL (
  SELECT s.s || ' ' || m.m || ' ' || g.g || CASE WHEN i % 3 = 0 THEN ' ' || g2.g ELSE '' END AS full_name,
         s.p || ' ' || m.p || ' ' || g.p || CASE WHEN i % 3 = 0 THEN ' ' || g2.p ELSE '' END AS plain
  FROM (SELECT (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Vũ','Đặng','Bùi','Đỗ','Ngô','Dương','Huỳnh','Phan','Võ','Trương'])[1 + (i * 31) % 15] s,
               (ARRAY['nguyen','tran','le','pham','hoang','vu','dang','bui','do','ngo','duong','huynh','phan','vo','truong'])[1 + (i * 31) % 15] p) s,
       (SELECT (ARRAY['Văn','Thị','Minh','Đức','Thu','Quang','Ngọc','Hữu','Thanh','Xuân','Bảo','Kim'])[1 + (i * 17 / 15) % 12] m,
               (ARRAY['van','thi','minh','duc','thu','quang','ngoc','huu','thanh','xuan','bao','kim'])[1 + (i * 17 / 15) % 12] p) m,
       (SELECT (ARRAY['An','Bình','Cường','Dung','Giang','Hà','Hải','Hương','Khánh','Linh','Mai','Nam','Oanh','Phúc','Quyên','Sơn','Tâm','Uyên','Việt','Yến','Thảo','Trang','Tuấn','Hùng','Lan'])[1 + (i / 180) % 25] g,
               (ARRAY['an','binh','cuong','dung','giang','ha','hai','huong','khanh','linh','mai','nam','oanh','phuc','quyen','son','tam','uyen','viet','yen','thao','trang','tuan','hung','lan'])[1 + (i / 180) % 25] p) g,
       (SELECT (ARRAY['Anh','Châu','Đạt','Hiếu','Long','Phương','Quân','Thắng','Vy','Ngân'])[1 + (i / 4500) % 10] g,
               (ARRAY['anh','chau','dat','hieu','long','phuong','quan','thang','vy','ngan'])[1 + (i / 4500) % 10] p) g2
) nm;

-- ~5 events per non-draft dossier
INSERT INTO dossiers_dossierevent (seq, event_type, from_status, to_status, actor_name, role, created_at, ip, note, data,
  prev_hash, hash, actor_id, agency_id, dossier_id, key_id, signature)
SELECT s,
  (ARRAY['dossier.submitted','dossier.received','dossier.assigned','dossier.proposed','dossier.approved'])[s],
  '', '', 'Cán bộ', CASE WHEN s <= 2 THEN 'reception' WHEN s <= 4 THEN 'specialist' ELSE 'leader' END,
  d.created_at + interval '1 hour' * s, NULL, '', '{}'::jsonb,
  md5(d.id::text || (s - 1)) || md5((s - 1) || d.id::text), md5(d.id::text || s) || md5(s || d.id::text),
  CASE WHEN s = 1 THEN NULL
       ELSE CASE d.receiving_agency_id WHEN 2 THEN (ARRAY[4,5,6])[1 + (s + d.id::int) % 3]
            WHEN 3 THEN (ARRAY[7,8,9])[1 + (s + d.id::int) % 3]
            WHEN 4 THEN (ARRAY[10,11])[1 + (s + d.id::int) % 2] ELSE 4 END END,
  d.receiving_agency_id, d.id, '', ''
FROM dossiers_dossier d CROSS JOIN generate_series(1, 5) s
WHERE d.status <> 'draft' AND d.code LIKE '%-_______';

-- 1M reads in the access log
INSERT INTO dossiers_accesslogentry (seq, created_at, actor_name, roles, subject_name, ip, purpose, what, prev_hash,
  hash, actor_id, agency_id, dossier_id, subject_user_id, key_id, signature)
SELECT 100000 + g, now() - interval '1000 days' * (g::float / 1000000), 'Cán bộ', 'reception', 'Người nộp', NULL,
  (ARRAY['processing','supervision','api'])[1 + g % 3], 'personal_data', md5(g::text), md5(g::text) || md5(g::text),
  (ARRAY[4,5,6,7,8,9,10,11,12])[1 + g % 9], (ARRAY[2,3,4,1])[1 + g % 4],
  (SELECT min(id) FROM dossiers_dossier) + (g::bigint * 7919) % 1000000, NULL, '', ''
FROM generate_series(1, 1000000) g;
VACUUM ANALYZE;
SELECT count(*) FROM dossiers_dossier; SELECT count(*) FROM dossiers_dossierevent; SELECT count(*) FROM dossiers_accesslogentry;
