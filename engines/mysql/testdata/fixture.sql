-- The round-trip fixture of issue 4 item 4. Loaded with multiStatements into
-- an empty utf8mb4 database; every object here must come back identical.
-- Every table holds rows (the conformance suite asks for it).
CREATE TABLE texts (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY COMMENT '主键',
  label VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci,
  body TEXT,
  latin VARCHAR(50) CHARACTER SET latin1 COLLATE latin1_swedish_ci,
  KEY label_idx (label),
  FULLTEXT KEY body_ft (body)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='文本: Chinese, emoji, NULL vs ''NULL'' vs empty';
INSERT INTO texts (id, label, body, latin) VALUES
  (1, '中文名字', '办事大厅 排队 😀🎉 👨‍👩‍👧', 'café'),
  (2, NULL, 'NULL', NULL),
  (3, 'NULL', '', ''),
  (4, '', NULL, 'x'),
  (5, 'tab\there', 'line1\nline2\r\nline3', 'back\\slash'),
  (6, 'nul\0inside', '\\N', 'end\\'),
  (7, '\\t literal', 'quote '' and " and `', '\Z ctrl-z');
ALTER TABLE texts AUTO_INCREMENT = 1000;

CREATE TABLE blobs (
  id INT PRIMARY KEY,
  b LONGBLOB,
  vb VARBINARY(300),
  fixed BINARY(4)
) ENGINE=InnoDB;
INSERT INTO blobs VALUES (1, NULL, NULL, NULL), (2, '', '', 'ab'), (3, 'NULL', 0x00, 0x00000000);
-- every byte value 0..255, in order and reversed
INSERT INTO blobs
  SELECT 10, UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')),
             UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq DESC SEPARATOR '')), 0x5c090a00
  FROM seq_0_to_255;

CREATE TABLE kinds (
  id BIGINT UNSIGNED PRIMARY KEY,
  j JSON,
  d DECIMAL(65,30),
  bits BIT(13),
  b1 BIT(1),
  e ENUM('小','medium','large') NULL,
  s SET('a','b','c','中') NULL,
  dt6 DATETIME(6) NULL,
  ts TIMESTAMP NULL DEFAULT NULL,
  ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  dte DATE,
  tm TIME(3),
  yr YEAR,
  f FLOAT,
  dbl DOUBLE,
  pt POINT,
  g GEOMETRY,
  CONSTRAINT d_nonneg CHECK (d IS NULL OR d >= -1),
  CHECK (id < 1000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO kinds VALUES
  (1, '{"名": "值", "emoji": "😀", "n": [1, 2.5, null, true], "nested": {"a": "\\t"}}',
      '12345678901234567890123456789012345.123456789012345678901234567891', b'1010101010101', b'1',
      '小', 'a,c,中', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07', '1970-01-01 00:00:01.000001',
      '1000-01-01', '-838:59:59.000', 2155, 3.14159, 2.718281828459045, ST_PointFromText('POINT(116.397 39.907)'),
      ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))')),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, '[]', '-0.000000000000000000000000000001', b'0', b'0', 'large', '', '0000-00-00 00:00:00', NULL, '2001-02-03 04:05:06.7',
      '9999-12-31', '00:00:00', 1901, -1.5e-38, 1.7976931348623157e308, ST_PointFromText('POINT(-180 -90)'),
      ST_GeomFromText('LINESTRING(1 1, 2 2, 3 5)'));

CREATE TABLE gen (
  id INT PRIMARY KEY,
  price DECIMAL(10,2) NOT NULL,
  qty INT NOT NULL,
  total DECIMAL(12,2) AS (price * qty) VIRTUAL,
  total_stored DECIMAL(12,2) AS (price * qty) STORED,
  secret VARCHAR(20) INVISIBLE DEFAULT 'hidden',
  KEY total_idx (total_stored)
) ENGINE=InnoDB COMMENT='generated and invisible columns';
INSERT INTO gen (id, price, qty, secret) VALUES (1, 9.99, 3, 'visible-only-by-name'), (2, 0.01, 100, NULL), (3, 1, 1, DEFAULT);

CREATE TABLE old_myisam (
  id INT NOT NULL AUTO_INCREMENT,
  note VARCHAR(50),
  PRIMARY KEY (id)
) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 AUTO_INCREMENT=77;
INSERT INTO old_myisam (id, note) VALUES (1, '旧表'), (5, NULL);

CREATE TABLE aria_log (id INT PRIMARY KEY, msg VARCHAR(40)) ENGINE=Aria DEFAULT CHARSET=utf8mb4;
INSERT INTO aria_log VALUES (1, 'Aria 表'), (2, NULL);

-- A MERGE table: its rows are its MyISAM tables', backed up with them.
CREATE TABLE log_a (id INT NOT NULL, msg VARCHAR(20), KEY (id)) ENGINE=MyISAM;
CREATE TABLE log_b (id INT NOT NULL, msg VARCHAR(20), KEY (id)) ENGINE=MyISAM;
INSERT INTO log_a VALUES (1, 'a'); INSERT INTO log_b VALUES (2, 'b'), (3, 'b');
CREATE TABLE log_all (id INT NOT NULL, msg VARCHAR(20), KEY (id)) ENGINE=MERGE UNION=(log_a, log_b) INSERT_METHOD=LAST;

CREATE TABLE parted (
  id INT NOT NULL,
  created DATE NOT NULL,
  v VARCHAR(20),
  PRIMARY KEY (id, created)
) ENGINE=InnoDB
PARTITION BY RANGE (YEAR(created)) (
  PARTITION p2023 VALUES LESS THAN (2024),
  PARTITION p2024 VALUES LESS THAN (2025),
  PARTITION pmax VALUES LESS THAN MAXVALUE
);
INSERT INTO parted VALUES (1, '2023-05-01', 'a'), (2, '2024-06-01', 'b'), (3, '2030-01-01', 'c');

CREATE TABLE versioned (
  id INT PRIMARY KEY,
  status VARCHAR(20)
) WITH SYSTEM VERSIONING;
INSERT INTO versioned VALUES (1, 'new'), (2, 'new');
UPDATE versioned SET status = 'done' WHERE id = 1;
DELETE FROM versioned WHERE id = 2;

CREATE TABLE audit (
  id INT AUTO_INCREMENT PRIMARY KEY,
  what VARCHAR(100),
  at_ts DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)
);
INSERT INTO audit (what, at_ts) VALUES ('fixture loaded', '2024-01-01 08:00:00.123456');
CREATE TABLE child (
  id INT PRIMARY KEY,
  text_id INT,
  CONSTRAINT child_text_fk FOREIGN KEY (text_id) REFERENCES texts (id) ON DELETE CASCADE
);
INSERT INTO child VALUES (1, 1), (2, NULL);

CREATE TRIGGER texts_ai AFTER INSERT ON texts FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('inserted ', NEW.id));

CREATE SEQUENCE ticket_seq START WITH 100 INCREMENT BY 5 CACHE 10;
SELECT NEXTVAL(ticket_seq), NEXTVAL(ticket_seq);

CREATE VIEW v_base AS SELECT id, label FROM texts WHERE id < 100;
CREATE VIEW v_top AS SELECT COUNT(*) AS n FROM v_base;
-- a view whose name sorts before the view it uses
CREATE VIEW a_over_top AS SELECT n * 2 AS n2 FROM v_top;

CREATE PROCEDURE add_text(IN l VARCHAR(100))
  COMMENT '添加'
  INSERT INTO texts (label) VALUES (l);
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 02:00:00' ENABLE
  DO DELETE FROM audit WHERE at_ts < NOW() - INTERVAL 30 DAY;

-- A service hall's queue tickets: big enough to be cut into key-range parts
-- when a test lowers SplitBytes.
CREATE TABLE tickets (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  window_no SMALLINT NOT NULL,
  citizen VARCHAR(40) NOT NULL,
  issued DATETIME(3) NOT NULL,
  note VARCHAR(200),
  KEY window_idx (window_no, issued),
  UNIQUE KEY citizen_issued (citizen, issued)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO tickets (window_no, citizen, issued, note)
  SELECT seq % 12, CONCAT('市民', seq), '2024-03-01 08:00:00' + INTERVAL seq SECOND,
         IF(seq % 7 = 0, NULL, CONCAT('办理业务 #', seq, '\t', REPEAT('x', seq % 50)))
  FROM seq_1_to_20000;
