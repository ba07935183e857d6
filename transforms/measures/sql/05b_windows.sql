-- 30-day episode: the first eligible date of service opens a window of 30 days (that day and the next 29); the
-- first eligible date after it opens the next window. next_start = first date at least 30 days later.
CREATE OR REPLACE TEMP TABLE m_w_dates AS
SELECT DISTINCT part_key, dos FROM m_unit_claims WHERE counting_class = 'episode_30_day';

CREATE OR REPLACE TEMP TABLE m_w_next AS
SELECT a.part_key, a.dos, min(b.dos) AS next_start
FROM m_w_dates a
LEFT JOIN m_w_dates b ON b.part_key = a.part_key AND b.dos >= a.dos + 30
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE m_w_starts AS
WITH RECURSIVE w(part_key, window_start) AS (
    SELECT part_key, min(dos) FROM m_w_dates GROUP BY part_key
    UNION ALL
    SELECT n.part_key, n.next_start
    FROM w JOIN m_w_next n ON n.part_key = w.part_key AND n.dos = w.window_start
    WHERE n.next_start IS NOT NULL
)
SELECT part_key, window_start FROM w;

CREATE OR REPLACE TEMP TABLE m_w_assign AS
SELECT d.part_key, d.dos, max(s.window_start) AS window_start
FROM m_w_dates d JOIN m_w_starts s ON s.part_key = d.part_key AND s.window_start <= d.dos
GROUP BY ALL;

-- Second encounter: the patient's first eligible date (it only qualifies).
CREATE OR REPLACE TEMP TABLE m_first_dates AS
SELECT part_key, min(dos) AS first_dos, count(DISTINCT dos) AS n_dates
FROM m_unit_claims WHERE counting_class = 'second_encounter'
GROUP BY part_key;
