"""The knowledge base's GraphQL, contributed the way a plugin's is: roots, types and the compiled `node(id)` read."""

from __future__ import annotations

from saas.knowledge.graphql.mutations import KnowledgeMutations
from saas.knowledge.graphql.queries import KnowledgeQueries, article_condition, load_article
from saas.knowledge.graphql.sql import ARTICLE
from saas.knowledge.graphql.types import Article, ArticleHit
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(Article, ArticleHit),
    queries=(KnowledgeQueries,),
    mutations=(KnowledgeMutations,),
    compiled_nodes={"Article": CompiledNode(ARTICLE, article_condition, load_article)},
)
