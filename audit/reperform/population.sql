-- The population of a quarter, recomputed from the raw evidence.
-- One row per (repository, run id, environment): every workflow run created in the
-- quarter that a production deployment names. Compare with the stored
-- `population` table, which the verdicts were computed over.
--
-- Parameters (sqlite3: .parameter set :start '2024-04-01T00:00:00Z' …):
--   :start, :end     the quarter's [start, end) in UTC, as 'YYYY-MM-DDTHH:MM:SSZ'
--   :environments    production environment patterns, a JSON array, e.g. '["production"]'
--                    (globs compared case-insensitively: * ? [seq] [!seq])
-- The match below is soc2-audit's one definition of a pattern (audit/patterns.py MATCH),
-- the same in its Python code as here.
select d.repository, d.run_id, d.environment, max(d.deployment_id) as deployment_id
from deployments d
join workflow_runs r on r.repository = d.repository and r.run_id = d.run_id
where r.created_at >= :start and r.created_at < :end
  and exists (select 1 from json_each(:environments) p where lower(d.environment) glob lower(replace(p.value, '[!', '[^')))
group by d.repository, d.run_id, d.environment
order by d.repository, d.run_id, d.environment;
