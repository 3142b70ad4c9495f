-- Sample data for the 好差评 (service rating) system, a MariaDB database:
-- evaluations of finished services, with Chinese comments and emoji.
SET NAMES utf8mb4;
CREATE TABLE departments (
  id   INT PRIMARY KEY,
  name VARCHAR(64) NOT NULL COMMENT '部门'
) COMMENT '评价部门' DEFAULT CHARSET utf8mb4;
INSERT INTO departments VALUES (1,'市场监管局'),(2,'人社局'),(3,'不动产登记中心'),(4,'公安分局'),(5,'医保局');

CREATE TABLE evaluations (
  id         BIGINT AUTO_INCREMENT PRIMARY KEY,
  dept_id    INT NOT NULL,
  channel    ENUM('窗口','自助终端','网上','移动端') NOT NULL,
  score      TINYINT NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment    TEXT,
  rated_at   DATETIME(6) NOT NULL,
  amount     DECIMAL(12,2),
  is_bad     TINYINT AS (score <= 2) STORED,
  KEY (dept_id), KEY (rated_at),
  FOREIGN KEY (dept_id) REFERENCES departments(id)
) COMMENT '好差评记录' DEFAULT CHARSET utf8mb4;

SET SESSION max_recursive_iterations = 1000000;
INSERT INTO evaluations (dept_id, channel, score, comment, rated_at, amount)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
SELECT 1 + n % 5, ELT(1 + n % 4, '窗口','自助终端','网上','移动端'), 1 + (n * 7) % 5,
       ELT(1 + n % 6, '非常满意','满意','一般','等待时间较长','工作人员态度好 👍', NULL),
       TIMESTAMP('2026-01-01') + INTERVAL n * 37 SECOND, IF(n % 3 = 0, NULL, n / 100)
FROM seq;

CREATE VIEW bad_reviews AS SELECT id, dept_id, comment FROM evaluations WHERE is_bad = 1;
