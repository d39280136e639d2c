-- change.reviewed, re-performed: was the deployed commit approved in a pull request by
-- someone other than its author?
-- The PR: among the merged pull requests GitHub lists for the deployed commit
-- (commit_pulls.pr_numbers), the one whose merge commit is the deployed sha, else the first.
-- A PR approver: someone other than the PR author whose latest review that is not COMMENTED
-- or PENDING (ordered by submitted_at, then review id) is APPROVED - GitHub's own rule.
--   not_available  the deployed commit's pull requests were never captured
--   fail           no merged pull request (pushed without one)
--   not_available  the PR's reviews were never captured (e.g. GitHub refused them)
--   pass           the PR has a standing approval from someone other than its author
--   fail           otherwise
-- Parameters: :quarter, e.g. '2024Q2'
with deployment as (
    select p.repository, p.run_id, p.environment,
           cp.sha is not null as pulls_captured,
           coalesce(
               (select pr.number
                  from json_each(cp.pr_numbers) listed
                  join pull_requests pr on pr.repository = p.repository and pr.number = listed.value
                 where coalesce(pr.merged_at, '') != '' and pr.merge_commit_sha = r.head_sha
                 order by listed.key limit 1),
               (select pr.number
                  from json_each(cp.pr_numbers) listed
                  join pull_requests pr on pr.repository = p.repository and pr.number = listed.value
                 where coalesce(pr.merged_at, '') != ''
                 order by listed.key limit 1)) as pr_number
    from population p
    join workflow_runs r on r.repository = p.repository and r.run_id = p.run_id
    left join commit_pulls cp on cp.repository = p.repository and cp.sha = r.head_sha
    where p.quarter = :quarter
),
latest_reviews as (
    select rv.repository, rv.pr_number, lower(rv.user) as reviewer, rv.state,
           row_number() over (partition by rv.repository, rv.pr_number, lower(rv.user)
                              order by rv.submitted_at desc, rv.review_id desc) as recency
    from reviews rv
    join pull_requests pr on pr.repository = rv.repository and pr.number = rv.pr_number
    where rv.user is not null
      and lower(rv.user) is not lower(pr.author)
      and upper(rv.state) not in ('COMMENTED', 'PENDING')
)
select d.repository, d.run_id, d.environment,
  case
    when not d.pulls_captured then 'not_available'
    when d.pr_number is null then 'fail'
    when not exists (select 1 from pull_requests pr where pr.repository = d.repository
                     and pr.number = d.pr_number and pr.reviews_captured_at is not null) then 'not_available'
    when exists (select 1 from latest_reviews a
                 where a.repository = d.repository and a.pr_number = d.pr_number
                   and a.recency = 1 and upper(a.state) = 'APPROVED') then 'pass'
    else 'fail'
  end as verdict
from deployment d
order by d.repository, d.run_id, d.environment;
