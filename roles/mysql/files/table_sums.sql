-- The statements that read each base table of the current database: its rows and the sum of
-- the CRC32 of each row (its columns and which of them are NULL): order-independent, equal for
-- equal contents. tasks/sums.yml runs them (in one consistent snapshot on the live database).
SELECT CONCAT('SELECT ', QUOTE(c.TABLE_NAME), ', COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(''|'', ',
  GROUP_CONCAT(CONCAT('`', REPLACE(c.COLUMN_NAME, '`', '``'), '`') ORDER BY c.ORDINAL_POSITION), ', ',
  GROUP_CONCAT(CONCAT('ISNULL(`', REPLACE(c.COLUMN_NAME, '`', '``'), '`)') ORDER BY c.ORDINAL_POSITION),
  '))), 0) FROM `', REPLACE(c.TABLE_NAME, '`', '``'), '`;')
FROM information_schema.COLUMNS c JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
GROUP BY c.TABLE_NAME ORDER BY c.TABLE_NAME;
