-- deploy.from_main, re-performed: was the run's head branch an allowed branch?
--   not_available  head branch unknown, or no allowed branches and default branch unknown
--   pass / fail    head branch matches :allowed_branches (GLOB, case-sensitive like git),
--                  or, when that list is empty, equals the repository's default branch
-- Parameters: :quarter, e.g. '2024Q2'; :allowed_branches, a JSON array ('[]' = default branch)
select p.repository, p.run_id, p.environment,
  case
    when r.head_branch is null then 'not_available'
    when json_array_length(:allowed_branches) > 0 then
      case when exists (select 1 from json_each(:allowed_branches) b where r.head_branch glob b.value)
           then 'pass' else 'fail' end
    when repo.default_branch is null then 'not_available'
    when r.head_branch = repo.default_branch then 'pass'
    else 'fail'
  end as verdict
from population p
join workflow_runs r on r.repository = p.repository and r.run_id = p.run_id
left join repositories repo on repo.full_name = p.repository
where p.quarter = :quarter
order by p.repository, p.run_id, p.environment;
