-- Sample data shaped like a district government service hall (政务服务大厅):
-- service windows and staff, queue tickets, applications and ratings.
-- Used by `make demo` and the benchmarks. Scale with psql -v scale=N (default 1:
-- about 300,000 tickets).
\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif
CREATE SCHEMA IF NOT EXISTS hall;
SET search_path = hall, public;

CREATE TABLE windows (                      -- 窗口
  id        int PRIMARY KEY,
  name      text NOT NULL,
  zone      text NOT NULL,
  services  text[] NOT NULL
);
COMMENT ON TABLE windows IS '服务窗口';

CREATE TABLE staff (                        -- 窗口工作人员
  id        int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name      text NOT NULL,
  window_id int REFERENCES windows(id),
  phone     text,
  hired_on  date NOT NULL
);
COMMENT ON TABLE staff IS '窗口工作人员';

CREATE TABLE tickets (                      -- 取号记录
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_no   text NOT NULL,
  service     text NOT NULL,
  window_id   int REFERENCES windows(id),
  citizen     text,
  issued_at   timestamptz NOT NULL,
  called_at   timestamptz,
  finished_at timestamptz,
  status      text NOT NULL,
  note        text
);
COMMENT ON TABLE tickets IS '取号记录';
CREATE INDEX tickets_issued ON tickets (issued_at);

CREATE TABLE applications (                 -- 办件
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id   bigint REFERENCES tickets(id),
  item        text NOT NULL,
  applicant   text NOT NULL,
  id_card     text NOT NULL,
  form        jsonb NOT NULL,
  accepted_at timestamptz NOT NULL,
  state       text NOT NULL
);
COMMENT ON TABLE applications IS '标准化受理办件';

CREATE TABLE ratings (                      -- 好差评
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id bigint REFERENCES tickets(id),
  score     smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment   text,
  rated_at  timestamptz NOT NULL
);
COMMENT ON TABLE ratings IS '好差评';

INSERT INTO windows
SELECT g, g || '号窗口', (ARRAY['A区 综合受理','B区 不动产','C区 社保医保','D区 企业开办'])[1 + g % 4],
       (ARRAY['身份证办理','社保查询','营业执照','不动产登记','公积金提取'])[1:1 + g % 5]
FROM generate_series(1, 40) g;

INSERT INTO staff (name, window_id, phone, hired_on)
SELECT (ARRAY['张','王','李','赵','刘','陈','杨','黄'])[1 + g % 8] || (ARRAY['伟','芳','娜','敏','静','强','磊','洋'])[1 + (g / 8) % 8],
       1 + g % 40, '138' || lpad((g * 7919 % 100000000)::text, 8, '0'), date '2015-01-01' + (g * 37 % 3000)
FROM generate_series(1, 160) g;

INSERT INTO tickets (ticket_no, service, window_id, citizen, issued_at, called_at, finished_at, status, note)
SELECT chr(65 + g % 4) || lpad((g % 1000)::text, 3, '0'),
       (ARRAY['身份证办理','社保查询','营业执照','不动产登记','公积金提取','户籍迁移'])[1 + g % 6],
       1 + g % 40,
       (ARRAY['市民','群众','企业代表'])[1 + g % 3] || g,
       now() - (g * interval '37 seconds'),
       now() - (g * interval '37 seconds') + interval '6 minutes',
       CASE WHEN g % 9 = 0 THEN NULL ELSE now() - (g * interval '37 seconds') + interval '19 minutes' END,
       (ARRAY['已完成','已完成','已完成','过号','办理中'])[1 + g % 5],
       CASE WHEN g % 7 = 0 THEN '材料不齐，需补正：' || E'\t户口本\n' ELSE NULL END
FROM generate_series(1, 300000 * :scale) g;

INSERT INTO applications (ticket_id, item, applicant, id_card, form, accepted_at, state)
SELECT g * 3, (ARRAY['个体工商户设立登记','社会保障卡申领','不动产首次登记','住房公积金提取'])[1 + g % 4],
       '申请人' || g, '5101' || lpad((g::bigint * 104729 % 100000000000000)::text, 14, '0'),
       jsonb_build_object('材料', jsonb_build_array('身份证', '申请表'), '份数', 1 + g % 3, '加急', g % 10 = 0),
       now() - (g * interval '111 seconds'), (ARRAY['受理','办结','办结','退件'])[1 + g % 4]
FROM generate_series(1, 100000 * :scale) g;

INSERT INTO ratings (ticket_id, score, comment, rated_at)
SELECT g * 2, 1 + (g * 7) % 5,
       (ARRAY['非常满意','满意','一般','等待时间较长','工作人员态度好 👍', NULL])[1 + g % 6],
       now() - (g * interval '74 seconds')
FROM generate_series(1, 100000 * :scale) g;

CREATE VIEW daily_volume AS
SELECT date_trunc('day', issued_at) AS day, service, count(*) AS tickets
FROM tickets GROUP BY 1, 2;
ANALYZE;
